//go:build linux

package testenv

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Egress is an HTTPS (CONNECT) proxy on loopback that lets builds reach the
// package registries the machine reaches (the Go module proxy, the npm
// registry, Debian's archive) and nothing else. Builders on the host's
// network (the remote buildkitd) need no proxy; builders in the docker
// engine's private network namespace (the docker-container driver) have
// only loopback, to which the engine forwards the registry and this proxy:
// their RUN steps get it through BuildKit's predefined HTTPS_PROXY build
// argument, which is not part of any cache key.
type Egress struct {
	// Addr is host:port on loopback.
	Addr string
	// Hosts are the host names it connects to, on port 443 only.
	Hosts []string

	l    net.Listener
	wg   sync.WaitGroup
	done chan struct{}
}

// PackageRegistryHosts are the host names of the package registries this
// machine uses, read at run time: the Go module proxies of `go env
// GOPROXY`, npm's registry and Debian's archive from apt's sources.
func PackageRegistryHosts(ctx context.Context) ([]string, error) {
	var urls []string
	out, err := runOut(ctx, goEnv(), os.TempDir(), "go", "env", "GOPROXY")
	if err != nil {
		return nil, fmt.Errorf("go env GOPROXY: %w\n%s", err, out)
	}
	// A list separated by commas or pipes; "direct" and "off" are no host.
	urls = append(urls, strings.FieldsFunc(strings.TrimSpace(string(out)), func(r rune) bool { return r == ',' || r == '|' })...)
	if npm, err := lookPath("npm"); err == nil {
		if out, err := runOut(ctx, os.Environ(), os.TempDir(), npm, "config", "get", "registry"); err == nil {
			urls = append(urls, strings.TrimSpace(string(out)))
		}
	}
	if m, err := DebianMirror(); err == nil {
		urls = append(urls, m)
	}
	var hosts []string
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil || u.Hostname() == "" {
			continue
		}
		if !slices.Contains(hosts, u.Hostname()) {
			hosts = append(hosts, u.Hostname())
		}
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("no package registry found (go env GOPROXY %q)", out)
	}
	return hosts, nil
}

// StartEgress starts the proxy for hosts on a free loopback port; Close
// stops it.
func StartEgress(hosts []string) (*Egress, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &Egress{Addr: l.Addr().String(), Hosts: hosts, l: l, done: make(chan struct{})}
	g.wg.Add(1)
	go g.serve()
	return g, nil
}

// URL is the proxy as an HTTPS_PROXY value.
func (g *Egress) URL() string { return "http://" + g.Addr }

// Close stops accepting and waits for open tunnels to end.
func (g *Egress) Close() error {
	close(g.done)
	err := g.l.Close()
	g.wg.Wait()
	return err
}

func (g *Egress) serve() {
	defer g.wg.Done()
	for {
		c, err := g.l.Accept()
		if err != nil {
			return
		}
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.tunnel(c)
		}()
	}
}

// tunnel answers one CONNECT request and copies bytes both ways until
// either side closes or the proxy stops.
func (g *Egress) tunnel(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	host, port, err := net.SplitHostPort(req.Host)
	if req.Method != http.MethodConnect || err != nil || port != "443" || !slices.Contains(g.Hosts, host) {
		fmt.Fprintf(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
		return
	}
	d := net.Dialer{Timeout: 30 * time.Second}
	up, err := d.Dial("tcp", req.Host)
	if err != nil {
		fmt.Fprintf(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer up.Close()
	if _, err := fmt.Fprintf(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	stop := make(chan struct{})
	go func() {
		select {
		case <-g.done:
		case <-stop:
		}
		c.Close()
		up.Close()
	}()
	defer close(stop)
	// What the client sent after the request is in br's buffer.
	splice(c, br, up)
}

// HostEntries are add-hosts entries ("name=ip") for the names this
// machine resolves through its own hosts file: a build container gets a
// hosts file of its own, so a name only /etc/hosts knows would not resolve
// in a RUN step.
func HostEntries(names []string) ([]string, error) {
	b, err := os.ReadFile("/etc/hosts")
	if err != nil {
		return nil, err
	}
	return hostsEntries(string(b), names), nil
}

// hostsEntries reads a hosts file's entries for names.
func hostsEntries(hosts string, names []string) []string {
	var out []string
	for _, line := range strings.Split(hosts, "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) < 2 || net.ParseIP(f[0]) == nil {
			continue
		}
		for _, n := range f[1:] {
			if slices.Contains(names, n) {
				out = append(out, n+"="+f[0])
			}
		}
	}
	return out
}
