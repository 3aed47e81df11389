//go:build linux

package testenv

import (
	"context"
	"os"
	"path/filepath"
)

// Registry is a docker-registry of a test's own: for tests that need a
// real registry but no builder (the verifier's fault tests), or one they
// may stop without disturbing the tests sharing the environment's.
type Registry struct {
	// Addr is host:port on loopback (plain HTTP).
	Addr string
	env  *Env
	proc *proc
}

// RegistryTools provides what StartRegistry needs (Debian's
// docker-registry) without waiting for the tools EnsureTools builds.
func RegistryTools(ctx context.Context, logf Logf) (Tools, error) {
	var t Tools
	if err := ensureDebPackages(ctx, logf); err != nil {
		return t, err
	}
	var err error
	t.Registry, err = lookPath("docker-registry")
	return t, err
}

// StartRegistry starts a plain-HTTP registry on loopback in a temp dir of
// its own. Close stops it and removes the dir. t needs only Registry
// (RegistryTools).
func StartRegistry(ctx context.Context, t Tools) (_ *Registry, err error) {
	dir, err := os.MkdirTemp("", "inline-cache-registry-")
	if err != nil {
		return nil, err
	}
	e := &Env{Tools: t, Dir: dir}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	addr, p, err := e.serveRegistry(ctx, "registry", dir, "", func(addr string) error {
		return httpOK("http://" + addr + "/v2/")
	})
	if err != nil {
		return nil, err
	}
	return &Registry{Addr: addr, env: e, proc: p}, nil
}

// StartRegistry starts one more plain-HTTP registry named name under the
// environment's Dir, which a test may Stop; Env.Close stops it too.
// Builders of the environment push to it (BuildKit speaks plain HTTP to
// loopback registries).
func (e *Env) StartRegistry(ctx context.Context, name string) (*Registry, error) {
	dir := filepath.Join(e.Dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	addr, p, err := e.serveRegistry(ctx, name, dir, "", func(addr string) error {
		return httpOK("http://" + addr + "/v2/")
	})
	if err != nil {
		return nil, err
	}
	return &Registry{Addr: addr, proc: p}, nil
}

// Stop stops the registry (SIGTERM, then SIGKILL), as an outage would.
func (r *Registry) Stop() error { return r.proc.stop() }

// Close stops the registry and, for one from StartRegistry, removes its dir.
func (r *Registry) Close() error {
	if r.env != nil {
		return r.env.Close()
	}
	return r.proc.stop()
}
