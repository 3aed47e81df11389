//go:build linux

package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BuilderName is the buildx builder the environment creates.
const BuilderName = "inline-cache-test"

// Env is a running registry and BuildKit daemon with a buildx builder.
type Env struct {
	Tools Tools
	// Dir holds everything the environment writes; removed by Close.
	Dir string
	// Registry is the registry's host:port on loopback.
	Registry string
	// BuildkitdSocket is the daemon's unix socket.
	BuildkitdSocket string
	// DockerConfig is the private DOCKER_CONFIG with the buildx builder.
	DockerConfig string
	// BinDir holds a standalone buildx, first on the environment's PATH.
	BinDir string
	// Egress lets builders without the host's network reach the package
	// registries (see egress.go).
	Egress *Egress

	// mu guards procs: engines start side by side.
	mu    sync.Mutex
	procs []*proc
	logf  Logf
}

// Start starts the registry and buildkitd and creates the buildx builder.
// Close it when done, on every path.
func Start(ctx context.Context, t Tools, logf Logf) (_ *Env, err error) {
	dir, err := os.MkdirTemp("", "inline-cache-env-")
	if err != nil {
		return nil, err
	}
	e := &Env{Tools: t, Dir: dir, logf: logf}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if err := mountScratch(dir); err != nil {
		return nil, err
	}
	e.DockerConfig = filepath.Join(dir, "docker")
	e.BinDir = filepath.Join(dir, "bin")
	for _, d := range []string{e.DockerConfig + "/cli-plugins", e.BinDir, dir + "/logs"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.Symlink(t.Buildx, filepath.Join(e.DockerConfig, "cli-plugins", "docker-buildx")); err != nil {
		return nil, err
	}
	if err := os.Symlink(t.Buildx, filepath.Join(e.BinDir, "buildx")); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(e.DockerConfig, "config.json"), []byte("{}\n"), 0o600); err != nil {
		return nil, err
	}

	if err := e.startRegistry(ctx); err != nil {
		return nil, err
	}
	hosts, err := PackageRegistryHosts(ctx)
	if err != nil {
		return nil, err
	}
	if e.Egress, err = StartEgress(hosts); err != nil {
		return nil, err
	}
	if err := e.startBuildkitd(ctx); err != nil {
		return nil, err
	}
	if out, err := e.Buildx(ctx, "create", "--name", BuilderName, "--driver", "remote", "unix://"+e.BuildkitdSocket); err != nil {
		return nil, fmt.Errorf("buildx create: %w\n%s", err, out)
	}
	if out, err := e.Buildx(ctx, "inspect", "--bootstrap", BuilderName); err != nil {
		return nil, fmt.Errorf("buildx inspect --bootstrap: %w\n%s", err, out)
	}
	return e, nil
}

// Environ is the environment for programs that use the builder: the
// process environment with DOCKER_CONFIG, BUILDX_BUILDER and PATH set.
func (e *Env) Environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DOCKER_CONFIG", "BUILDX_BUILDER", "PATH", "DOCKER_HOST", "DOCKER_CONTEXT":
			continue
		}
		out = append(out, kv)
	}
	return append(out,
		"DOCKER_CONFIG="+e.DockerConfig,
		"BUILDX_BUILDER="+BuilderName,
		"PATH="+e.BinDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		// No daemon runs here; point the CLI at a socket of our own so it
		// never reaches a system one.
		"DOCKER_HOST=unix://"+filepath.Join(e.Dir, "no-docker.sock"),
	)
}

// Buildx runs buildx (standalone) against the environment's builder.
func (e *Env) Buildx(ctx context.Context, args ...string) (string, error) {
	out, err := runOut(ctx, e.Environ(), "", e.Tools.Buildx, args...)
	return string(out), err
}

// Prune empties the builder's cache, as on a fresh CI machine.
func (e *Env) Prune(ctx context.Context) error {
	if out, err := e.Buildx(ctx, "prune", "-af", "--builder", BuilderName); err != nil {
		return fmt.Errorf("buildx prune: %w\n%s", err, out)
	}
	return nil
}

// Close stops the daemons and removes the directory.
func (e *Env) Close() error {
	var errs []error
	e.mu.Lock()
	procs := e.procs
	e.procs = nil
	e.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		if err := procs[i].stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if e.Egress != nil {
		if err := e.Egress.Close(); err != nil {
			errs = append(errs, err)
		}
		e.Egress = nil
	}
	unmountUnder(e.Dir)
	_ = syscall.Unmount(e.Dir, syscall.MNT_DETACH) // the scratch tmpfs, if mounted
	if err := os.RemoveAll(e.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (e *Env) startRegistry(ctx context.Context) error {
	addr, _, err := e.serveRegistry(ctx, e.Tools.Registry, "registry", e.Dir, "", func(addr string) error {
		return httpOK("http://" + addr + "/v2/")
	})
	if err != nil {
		return err
	}
	e.Registry = addr
	return nil
}

// serveRegistry starts the registry program bin (Debian's docker-registry,
// distribution 2.8, or distribution v3's; both read this config) named
// name on a free loopback port, storing under dir/<name>-data, with extra
// YAML (auth, tls) appended to its config. ready(addr) says when it serves.
func (e *Env) serveRegistry(ctx context.Context, bin, name, dir, extra string, ready func(addr string) error) (string, *proc, error) {
	var lastErr error
	// A free port can be taken between choosing and binding it: retry.
	for range 3 {
		port, err := freePort()
		if err != nil {
			return "", nil, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		cfg := filepath.Join(dir, name+".yml")
		conf := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, name+"-data"), addr) + extra
		if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
			return "", nil, err
		}
		p, err := e.StartProc(name, bin, "serve", cfg)
		if err != nil {
			return "", nil, err
		}
		if lastErr = waitFor(ctx, p, 30*time.Second, func() error { return ready(addr) }); lastErr == nil {
			return addr, p, nil
		}
		_ = p.stop()
		e.mu.Lock()
		e.procs = slices.DeleteFunc(e.procs, func(q *proc) bool { return q == p })
		e.mu.Unlock()
	}
	return "", nil, fmt.Errorf("start %s: %w", name, lastErr)
}

func (e *Env) startBuildkitd(ctx context.Context) error {
	sock, err := e.StartBuildkitd(ctx, "buildkitd", e.RegistryTOML())
	if err != nil {
		return err
	}
	e.BuildkitdSocket = sock
	return nil
}

// RegistryTOML is the buildkitd.toml section that lets a daemon push to the
// environment's plain-HTTP registry, and makes that registry its docker.io
// mirror, where PushBaseImages puts the images Dockerfiles start FROM.
func (e *Env) RegistryTOML() string {
	return fmt.Sprintf("[registry.%q]\n  http = true\n  insecure = true\n[registry.\"docker.io\"]\n  mirrors = [%q]\n", e.Registry, e.Registry)
}

// StartBuildkitd starts one more buildkitd (OCI worker, runc) named name,
// with config toml, on a unix socket under Dir; Close stops it. Several can
// run at once (multi-node builders), each with its own root.
func (e *Env) StartBuildkitd(ctx context.Context, name, toml string) (socket string, err error) {
	socket = filepath.Join(e.Dir, name+".sock")
	cfg := filepath.Join(e.Dir, name+".toml")
	if err := os.WriteFile(cfg, []byte(toml), 0o644); err != nil {
		return "", err
	}
	p, err := e.StartProc(name, e.Tools.Buildkitd,
		"--root", filepath.Join(e.Dir, name),
		"--addr", "unix://"+socket,
		"--config", cfg,
		"--oci-worker=true",
		"--oci-worker-binary", e.Tools.Runc,
		// RUN steps reach the package registries as the host does (the
		// default would pick CNI wherever a CNI config happens to exist).
		"--oci-worker-net", "host",
		"--containerd-worker=false",
	)
	if err != nil {
		return "", err
	}
	err = waitFor(ctx, p, 60*time.Second, func() error {
		_, err := runOut(ctx, os.Environ(), "", e.Tools.Buildctl, "--addr", "unix://"+socket, "debug", "workers")
		return err
	})
	if err != nil {
		return "", fmt.Errorf("start %s: %w", name, err)
	}
	return socket, nil
}

// StartProc starts a daemon whose log goes to Dir/logs/<name>.log; Close
// stops it (in reverse start order).
func (e *Env) StartProc(name, path string, args ...string) (*proc, error) {
	return e.startProc(name, startOnSpawner, path, args...)
}

func (e *Env) startProc(name string, start func(*exec.Cmd) error, path string, args ...string) (*proc, error) {
	return e.startProcEnv(name, nil, start, path, args...)
}

// startProcEnv is startProc with the daemon's environment (nil: this
// process's).
func (e *Env) startProcEnv(name string, env []string, start func(*exec.Cmd) error, path string, args ...string) (*proc, error) {
	p, err := startProc(e.Dir, name, env, start, path, args...)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
	return p, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func httpOK(url string) error {
	return getOK(&http.Client{Timeout: 2 * time.Second}, url, url)
}

// getOK asks c for url and wants 200 OK; what names the request in the
// error.
func getOK(c *http.Client, url, what string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", what, resp.Status)
	}
	return nil
}

// waitFor polls ready until it succeeds, the process dies or time runs out.
func waitFor(ctx context.Context, p *proc, limit time.Duration, ready func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited: %v\n%s", p.name, p.waitErr(), p.logTail())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %v\n%s", p.name, limit, err, p.logTail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
