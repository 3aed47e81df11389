//go:build linux

package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Dockerd is a Docker engine (Debian's docker.io 20.10, or the current one
// EnsureTools builds) the environment started, with its own containerd, in
// its own network namespace.
//
// The engine's BuildKit runs RUN steps on the default bridge network, which
// dockerd creates as an interface. A private network namespace lets it do so
// without touching the host's network or another engine's bridge; the
// environment's registry is forwarded into that namespace on the same
// 127.0.0.1 address, so image names mean the same inside and out.
type Dockerd struct {
	// Socket is the engine's API socket; Host is it as a DOCKER_HOST value.
	Socket string
	Host   string
	// Context is the docker context in the environment's DOCKER_CONFIG that
	// points at the engine; buildx offers it as a builder of driver docker
	// under the same name.
	Context string
	// BinDir holds the engine's docker CLI, for PATH.
	BinDir string
	// Engine and Store are what runs.
	Engine Engine
	Store  Store

	env *Env
}

// DockerContext is the docker context (and buildx docker-driver builder)
// that StartDockerd creates.
const DockerContext = "inline-cache-dockerd"

// Store is an engine's image store.
type Store string

// Image stores.
const (
	// ClassicStore is the engine's own graph driver store (overlay2): the
	// default up to Docker 28.
	ClassicStore Store = "classic"
	// ContainerdStore is the containerd image store (snapshotters), the
	// default of new Docker 29 installations.
	ContainerdStore Store = "containerd"
)

// EngineConfig says which engine to start and how.
type EngineConfig struct {
	// Name is the engine's directory under Dir, the prefix of its daemons'
	// log names and its docker context.
	Name   string
	Engine Engine
	Store  Store
}

// StartDockerd starts Debian's docker.io 20.10 engine (classic store) as
// StartEngine does, with docker context DockerContext.
func (e *Env) StartDockerd(ctx context.Context) (*Dockerd, error) {
	if e.Tools.Dockerd == "" || e.Tools.Containerd == "" || e.Tools.Docker == "" {
		return nil, errors.New("dockerd, containerd or docker not found by EnsureTools")
	}
	return e.StartEngine(ctx, EngineConfig{Name: "dockerd", Engine: e.Tools.Engine20(), Store: ClassicStore})
}

// StartEngine starts containerd and dockerd on unix sockets below Dir, with
// data, exec root and pid file there too, and creates a docker context for
// it ("inline-cache-" + Name). Close stops them. Engines of different names
// run side by side, each in its own network namespace.
func (e *Env) StartEngine(ctx context.Context, c EngineConfig) (_ *Dockerd, err error) {
	dir := filepath.Join(e.Dir, c.Name)
	for _, d := range []string{dir, filepath.Join(dir, "bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	d := &Dockerd{
		Socket:  filepath.Join(dir, "docker.sock"),
		Context: "inline-cache-" + c.Name,
		BinDir:  filepath.Join(dir, "bin"),
		Engine:  c.Engine,
		Store:   c.Store,
		env:     e,
	}
	d.Host = "unix://" + d.Socket
	if err := os.Symlink(c.Engine.Docker, filepath.Join(d.BinDir, "docker")); err != nil {
		return nil, err
	}

	ctrSock, err := e.startContainerd(ctx, dir, c)
	if err != nil {
		return nil, err
	}

	// The daemon reads no system configuration, only this file: its
	// containers run through capfit (see there), because a privileged
	// container, as buildx's docker-container driver makes, asks for
	// capabilities this machine's bounding set may lack.
	capfit := filepath.Join(dir, "capfit")
	if out, err := runOut(ctx, os.Environ(), "", "go", "build", "-ldflags", "-X main.runc="+e.Tools.Runc, "-o", capfit, "github.com/inlinecache/action/internal/testenv/capfit"); err != nil {
		return nil, fmt.Errorf("build capfit: %w\n%s", err, out)
	}
	cfg := filepath.Join(dir, "daemon.json")
	conf := fmt.Sprintf(`{"runtimes": {"capfit": {"path": %q}}, "default-runtime": "capfit"%s}`+"\n", capfit, storeFeature(c))
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	args := []string{
		"--host", d.Host,
		"--config-file", cfg,
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"),
		"--containerd", ctrSock,
		// The bridge lives in the private namespace; no firewall or
		// forwarding changes anywhere.
		"--iptables=false", "--ip6tables=false", "--ip-masq=false", "--ip-forward=false",
		"--userland-proxy=false",
		// 127.0.0.0/8 is insecure by default; naming the registry keeps
		// plain HTTP working if its address ever changes.
		"--insecure-registry", e.Registry,
		// docker.io images come from the environment's registry (20.10
		// wants a URL here, and the registry listed as insecure).
		"--registry-mirror", "http://" + e.Registry,
	}
	fwd := []string{e.Registry}
	if e.Egress != nil {
		// Builders on the engine's network reach the package registries
		// only through the proxy.
		fwd = append(fwd, e.Egress.Addr)
	}
	p, err := e.startInNetNS(ctx, c.Name, c.Engine.Dockerd, args, fwd...)
	if err != nil {
		return nil, err
	}
	err = waitFor(ctx, p, 60*time.Second, func() error { return unixHTTPOK(d.Socket, "/_ping") })
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", c.Name, err)
	}
	create := exec.CommandContext(ctx, c.Engine.Docker, "context", "create", d.Context, "--docker", "host="+d.Host)
	create.Env = e.Environ()
	if out, err := create.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("docker context create: %w\n%s", err, out)
	}
	return d, nil
}

// storeFeature is daemon.json's image store switch: set either way, since
// the default differs between versions.
func storeFeature(c EngineConfig) string {
	if c.Engine.Version == "20.10" {
		return "" // no containerd image store
	}
	return fmt.Sprintf(`, "features": {"containerd-snapshotter": %t}`, c.Store == ContainerdStore)
}

// startContainerd starts a containerd of the engine's own (no system one,
// which dockerd would otherwise look for at its default socket).
func (e *Env) startContainerd(ctx context.Context, dir string, c EngineConfig) (string, error) {
	sock := filepath.Join(dir, "containerd.sock")
	cfg := filepath.Join(dir, "containerd.toml")
	// containerd 2 reads version 3; its CRI is three plugins, none needed.
	version, disabled := 2, `"io.containerd.grpc.v1.cri"`
	if c.Engine.ShimDir != "" {
		version, disabled = 3, `"io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime"`
	}
	conf := fmt.Sprintf(`version = %d
root = %q
state = %q
disabled_plugins = [%s]
[grpc]
  address = %q
[ttrpc]
  address = %q
[debug]
  address = ""
[metrics]
  address = ""
`, version, filepath.Join(dir, "containerd-root"), filepath.Join(dir, "containerd-state"), disabled, sock, sock+".ttrpc")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return "", err
	}
	var env []string
	if c.Engine.ShimDir != "" {
		// Its own shim, not the system containerd's on PATH.
		env = withPathFirst(os.Environ(), c.Engine.ShimDir)
	}
	p, err := e.startProcEnv(c.Name+"-containerd", env, startOnSpawner, c.Engine.Containerd, "--config", cfg)
	if err != nil {
		return "", err
	}
	err = waitFor(ctx, p, 30*time.Second, func() error {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("start containerd: %w", err)
	}
	return sock, nil
}

// withPathFirst puts dir first on environ's PATH.
func withPathFirst(environ []string, dir string) []string {
	out := make([]string, 0, len(environ)+1)
	found := false
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			kv, found = "PATH="+dir+string(os.PathListSeparator)+v, true
		}
		out = append(out, kv)
	}
	if !found {
		out = append(out, "PATH="+dir)
	}
	return out
}

// Environ is the environment's Environ for programs that use this engine:
// DOCKER_CONTEXT and BUILDX_BUILDER name its context (buildx uses a docker
// driver builder only for the current context), and the engine's docker CLI
// comes first on PATH.
func (d *Dockerd) Environ() []string {
	var out []string
	for _, kv := range d.env.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "DOCKER_HOST", "DOCKER_CONTEXT", "BUILDX_BUILDER":
			continue
		case "PATH":
			kv = "PATH=" + d.BinDir + string(os.PathListSeparator) + v
		}
		out = append(out, kv)
	}
	return append(out, "DOCKER_CONTEXT="+d.Context, "BUILDX_BUILDER="+d.Context)
}

// Docker runs the engine's docker CLI against it.
func (d *Dockerd) Docker(ctx context.Context, args ...string) (string, error) {
	out, err := runOut(ctx, d.Environ(), "", d.Engine.Docker, args...)
	return string(out), err
}

// Prune empties the engine's build cache and removes its images, as on a
// fresh CI machine.
func (d *Dockerd) Prune(ctx context.Context) error {
	if out, err := d.Docker(ctx, "builder", "prune", "-af"); err != nil {
		return fmt.Errorf("docker builder prune: %w\n%s", err, out)
	}
	out, err := d.Docker(ctx, "image", "ls", "-aq")
	if err != nil {
		return fmt.Errorf("docker image ls: %w\n%s", err, out)
	}
	if ids := strings.Fields(out); len(ids) > 0 {
		if out, err := d.Docker(ctx, append([]string{"image", "rm", "-f"}, ids...)...); err != nil {
			return fmt.Errorf("docker image rm: %w\n%s", err, out)
		}
	}
	return nil
}

// startInNetNS starts a daemon in a new network namespace with loopback up
// and fwdAddrs (127.0.0.1 addresses of this namespace) forwarded into it.
//
// The namespace belongs to one OS thread, which stays locked until the
// daemon exits: the daemon's parent-death signal is tied to that thread.
func (e *Env) startInNetNS(ctx context.Context, name, path string, args []string, fwdAddrs ...string) (*proc, error) {
	type started struct {
		p   *proc
		ls  []net.Listener
		err error
	}
	ch := make(chan started, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread's namespace is not the process's, so
		// the runtime must discard it when this goroutine ends.
		var s started
		s.err = func() error {
			if err := syscall.Unshare(syscall.CLONE_NEWNET); err != nil {
				return fmt.Errorf("new network namespace: %w", err)
			}
			if err := loopbackUp(); err != nil {
				return err
			}
			closeAll := func() {
				for _, l := range s.ls {
					l.Close()
				}
			}
			for _, a := range fwdAddrs {
				l, err := net.Listen("tcp", a)
				if err != nil {
					closeAll()
					return fmt.Errorf("listen on %s in the namespace: %w", a, err)
				}
				s.ls = append(s.ls, l)
			}
			var err error
			// From this thread: the daemon must be born in its namespace.
			s.p, err = e.startProc(name, startHere, path, args...)
			if err != nil {
				closeAll()
			}
			return err
		}()
		ch <- s
		if s.err == nil {
			<-s.p.done
		}
	}()
	s := <-ch
	if s.err != nil {
		return nil, s.err
	}
	for i, l := range s.ls {
		go forward(l, fwdAddrs[i])
	}
	go func() {
		<-s.p.done
		for _, l := range s.ls {
			l.Close()
		}
	}()
	return s.p, nil
}

// forward copies connections accepted on l to addr until l is closed.
func forward(l net.Listener, addr string) {
	for {
		in, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer in.Close()
			out, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer out.Close()
			splice(in, in, out)
		}()
	}
}

// splice copies between a client and an upstream TCP connection both ways
// until each side has closed its half. from reads the client: it may hold
// bytes already buffered.
func splice(client net.Conn, from io.Reader, up net.Conn) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(up, from)
		_ = up.(*net.TCPConn).CloseWrite()
	}()
	_, _ = io.Copy(client, up)
	_ = client.(*net.TCPConn).CloseWrite()
	wg.Wait()
}

// loopbackUp brings up lo in the calling thread's network namespace.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer syscall.Close(fd)
	var req struct {
		name  [syscall.IFNAMSIZ]byte
		flags uint16
		_     [22]byte
	}
	copy(req.name[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&req))); e != 0 {
		return fmt.Errorf("get lo flags: %w", e)
	}
	req.flags |= syscall.IFF_UP
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&req))); e != 0 {
		return fmt.Errorf("bring lo up: %w", e)
	}
	return nil
}

// unixHTTPOK asks an HTTP server on a unix socket for path.
func unixHTTPOK(sock, path string) error {
	c := http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}},
	}
	return getOK(&c, "http://docker"+path, path)
}
