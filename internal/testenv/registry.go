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

// Distribution is a version of the distribution registry the
// environment serves.
type Distribution string

const (
	// Distribution28 is Debian's docker-registry, distribution 2.8.
	Distribution28 Distribution = "distribution 2.8"
	// DistributionV3 is distribution v3 (DistributionV3Version), built from
	// the Go module proxy.
	DistributionV3 Distribution = "distribution " + DistributionV3Version
)

// Distributions are the versions every registry-level test runs on.
var Distributions = []Distribution{Distribution28, DistributionV3}

// binary is the program of version d in t.
func (t Tools) binary(d Distribution) string {
	if d == DistributionV3 {
		return t.RegistryV3
	}
	return t.Registry
}

// RegistryTools provides what StartRegistry needs (Debian's
// docker-registry, and distribution v3's registry, built once into the
// tool cache) without waiting for the tools EnsureTools builds.
func RegistryTools(ctx context.Context, logf Logf) (Tools, error) {
	var t Tools
	if err := ensureDebPackages(ctx, logf); err != nil {
		return t, err
	}
	var err error
	if t.Registry, err = lookPath("docker-registry"); err != nil {
		return t, err
	}
	cache, err := CacheDir()
	if err != nil {
		return t, err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return t, err
	}
	unlock, err := lockFile(filepath.Join(cache, ".lock"))
	if err != nil {
		return t, err
	}
	defer unlock()
	t.RegistryV3, err = ensureRegistryV3(ctx, cache, logf)
	return t, err
}

// StartRegistry starts a plain-HTTP distribution 2.8 registry on loopback
// in a temp dir of its own. Close stops it and removes the dir. t needs
// only Registry (RegistryTools).
func StartRegistry(ctx context.Context, t Tools) (*Registry, error) {
	return StartDistribution(ctx, t, Distribution28)
}

// StartDistribution starts a plain-HTTP registry of version d on loopback
// in a temp dir of its own. Close stops it and removes the dir.
func StartDistribution(ctx context.Context, t Tools, d Distribution) (_ *Registry, err error) {
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
	addr, p, err := e.serveRegistry(ctx, t.binary(d), "registry", dir, "", func(addr string) error {
		return httpOK("http://" + addr + "/v2/")
	})
	if err != nil {
		return nil, err
	}
	return &Registry{Addr: addr, env: e, proc: p}, nil
}

// StartRegistry starts one more plain-HTTP distribution 2.8 registry
// named name under the environment's Dir, which a test may Stop;
// Env.Close stops it too. Builders of the environment push to it
// (BuildKit speaks plain HTTP to loopback registries).
func (e *Env) StartRegistry(ctx context.Context, name string) (*Registry, error) {
	return e.StartDistribution(ctx, name, Distribution28)
}

// StartDistribution is StartRegistry with the registry of version d.
func (e *Env) StartDistribution(ctx context.Context, name string, d Distribution) (*Registry, error) {
	dir := filepath.Join(e.Dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	addr, p, err := e.serveRegistry(ctx, e.Tools.binary(d), name, dir, "", func(addr string) error {
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
