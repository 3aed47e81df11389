//go:build linux

package testenv

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestAptURIs(t *testing.T) {
	t.Parallel()
	oneLine := "# comment\n" +
		"deb http://mirror.example/debian bookworm main\n" +
		"deb-src http://src.example/debian bookworm main\n" +
		"deb [arch=amd64 signed-by=/k.gpg] https://other.example/debian bookworm main\n" +
		"deb http://old.example/debian bullseye main\n"
	if got, want := aptURIs(oneLine, false), []string{"http://mirror.example/debian", "https://other.example/debian"}; !slices.Equal(got, want) {
		t.Errorf("one-line: %q, want %q", got, want)
	}
	deb822 := "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n" +
		"Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\n" +
		"Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
	if got, want := aptURIs(deb822, true), []string{"http://mirror.example/debian"}; !slices.Equal(got, want) {
		t.Errorf("deb822: %q, want %q", got, want)
	}
}

func TestHostsEntries(t *testing.T) {
	t.Parallel()
	hosts := "127.0.0.1 localhost\n# 10.0.0.1 proxy.example\n192.0.2.7 proxy.example mirror.example # pinned\nbad line\n"
	got := hostsEntries(hosts, []string{"proxy.example", "mirror.example", "npm.example"})
	if want := []string{"proxy.example=192.0.2.7", "mirror.example=192.0.2.7"}; !slices.Equal(got, want) {
		t.Errorf("entries %q, want %q", got, want)
	}
}

// TestEgressRefuses: the proxy tunnels only to the listed hosts on port
// 443 and answers nothing but CONNECT; nothing is dialled for a refusal.
func TestEgressRefuses(t *testing.T) {
	t.Parallel()
	g, err := StartEgress([]string{"allowed.invalid"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, req := range []string{
		"CONNECT other.invalid:443 HTTP/1.1\r\nHost: other.invalid:443\r\n\r\n",
		"CONNECT allowed.invalid:80 HTTP/1.1\r\nHost: allowed.invalid:80\r\n\r\n",
		"GET http://allowed.invalid/ HTTP/1.1\r\nHost: allowed.invalid\r\n\r\n",
	} {
		c, err := net.Dial("tcp", g.Addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(c, req)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%q: %v", req, err)
		}
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%q: %s, want 403", req, resp.Status)
		}
		c.Close()
	}
	// An allowed name that does not resolve: tried, and a 502.
	c, err := net.Dial("tcp", g.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "CONNECT allowed.invalid:443 HTTP/1.1\r\nHost: allowed.invalid:443\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusBadGateway {
		t.Errorf("allowed but unresolvable host: %v %v, want 502", resp, err)
	}
}

// TestDiffLayer: a layer of what upper adds, changes and removes relative
// to lower, with whiteouts, and nothing for what is the same.
func TestDiffLayer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lower, upper := filepath.Join(dir, "lower"), filepath.Join(dir, "upper")
	for _, f := range []string{"etc/same", "etc/changed", "etc/removed", "old/sub/file"} {
		p := filepath.Join(lower, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := copyRoot(context.Background(), lower, upper); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(upper, "etc/changed"), []byte("new content"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"etc/removed", "old"} {
		if err := os.RemoveAll(filepath.Join(upper, p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(upper, "usr/bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../lib/node", filepath.Join(upper, "usr/bin/node")); err != nil {
		t.Fatal(err)
	}
	l, err := diffLayer(lower, upper, filepath.Join(dir, "diff.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = string(b) + h.Linkname
	}
	// etc/ changed (an entry was written and one removed); etc/same did not.
	want := map[string]string{
		"etc/":            "",
		"etc/changed":     "new content",
		"etc/.wh.removed": "",
		".wh.old":         "",
		"usr/":            "",
		"usr/bin/":        "",
		"usr/bin/node":    "../lib/node",
	}
	if !maps.Equal(got, want) {
		t.Errorf("layer entries %q, want %q", got, want)
	}
}
