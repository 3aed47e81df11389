//go:build linux

package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ContainerBuilder is a buildx builder of the docker-container driver (what
// docker/setup-buildx-action creates by default) on the environment's
// docker engine: BuildKit runs in a container of the BuildKit image that
// PushBaseImages pushed, on the engine's network (network=host), which has
// the registry and the egress proxy forwarded into it.
type ContainerBuilder struct {
	Name string
	d    *Dockerd
}

// CreateContainerBuilder creates and starts the builder name. The base
// images must have been pushed. Remove removes it.
func (d *Dockerd) CreateContainerBuilder(ctx context.Context, name string, bi *BaseImages) (*ContainerBuilder, error) {
	cfg := filepath.Join(d.env.Dir, name+".toml")
	if err := os.WriteFile(cfg, []byte(d.env.RegistryTOML()), 0o644); err != nil {
		return nil, err
	}
	b := &ContainerBuilder{Name: name, d: d}
	out, err := b.buildx(ctx, "create", "--name", name,
		"--driver", "docker-container",
		"--driver-opt", "image="+d.env.Registry+"/"+bi.BuildKit+",network=host",
		"--buildkitd-config", cfg,
		"--buildkitd-flags", "--oci-worker-net=host",
		d.Context)
	if err != nil {
		return nil, fmt.Errorf("buildx create --driver docker-container: %w\n%s", err, out)
	}
	if out, err := b.buildx(ctx, "inspect", "--bootstrap", name); err != nil {
		return nil, fmt.Errorf("buildx inspect --bootstrap %s: %w\n%s", name, err, out)
	}
	return b, nil
}

// Environ is the engine's environment with BUILDX_BUILDER naming this
// builder.
func (b *ContainerBuilder) Environ() []string {
	var out []string
	for _, kv := range b.d.Environ() {
		if !strings.HasPrefix(kv, "BUILDX_BUILDER=") {
			out = append(out, kv)
		}
	}
	return append(out, "BUILDX_BUILDER="+b.Name)
}

// Prune empties the builder's cache, as on a fresh CI machine.
func (b *ContainerBuilder) Prune(ctx context.Context) error {
	if out, err := b.buildx(ctx, "prune", "-af", "--builder", b.Name); err != nil {
		return fmt.Errorf("buildx prune: %w\n%s", err, out)
	}
	return nil
}

// Remove removes the builder, its container and its state volume.
func (b *ContainerBuilder) Remove(ctx context.Context) error {
	if out, err := b.buildx(ctx, "rm", b.Name); err != nil {
		return fmt.Errorf("buildx rm %s: %w\n%s", b.Name, err, out)
	}
	return nil
}

func (b *ContainerBuilder) buildx(ctx context.Context, args ...string) (string, error) {
	// The engine's environment: every command names the builder.
	out, err := runOut(ctx, b.d.Environ(), "", b.d.env.Tools.Buildx, args...)
	return string(out), err
}
