//go:build linux

package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDockerd starts the engine and proves what the builder tests rely on:
// BuildKit RUN steps work in its namespace, it pushes to the environment's
// registry through the forwarder, and buildx sees its docker context as a
// builder of driver docker.
func TestDockerd(t *testing.T) {
	// The tools first, unbounded by the daemon's limit: on a clean machine
	// another package may hold the tools lock while it builds them for
	// longer than the daemon may take to start.
	tools, err := EnsureTools(context.Background(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e, err := Start(ctx, tools, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	}()
	d, err := e.StartDockerd(ctx)
	if err != nil {
		t.Fatal(err)
	}

	out, err := d.Docker(ctx, "version", "--format", "{{.Server.Version}}")
	if err != nil || !strings.HasPrefix(strings.TrimSpace(out), "20.10.") {
		t.Fatalf("docker version = %q, %v; want a 20.10 engine", out, err)
	}

	dir, err := os.MkdirTemp(e.Dir, "ctx-")
	if err != nil {
		t.Fatal(err)
	}
	df := "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"touch\", \"/ran\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile(tools.Busybox)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	tag := e.Registry + "/testenv/dockerd:1"
	// The engine's BuildKit, as GitLab's recipe runs it.
	build := exec.CommandContext(ctx, tools.Docker, "build", "--progress", "plain", "--build-arg", "BUILDKIT_INLINE_CACHE=1", "--tag", tag, dir)
	build.Env = append(d.Environ(), "DOCKER_BUILDKIT=1")
	if out, err := build.CombinedOutput(); err != nil || !strings.Contains(string(out), "writing image") {
		t.Fatalf("docker build with BuildKit: %v\n%s", err, out)
	}
	if out, err := d.Docker(ctx, "push", tag); err != nil {
		t.Fatalf("docker push: %v\n%s", err, out)
	}
	if err := httpOK("http://" + e.Registry + "/v2/testenv/dockerd/manifests/1"); err != nil {
		t.Fatalf("pushed image not in the registry: %v", err)
	}

	out, err = e.Buildx(ctx, "inspect", DockerContext)
	if err != nil {
		t.Fatalf("buildx inspect: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Driver:") || !strings.Contains(out, "docker\n") {
		t.Errorf("buildx inspect %s does not show a docker driver:\n%s", DockerContext, out)
	}
	// buildx's docker driver drives the same engine's BuildKit.
	bx := exec.CommandContext(ctx, tools.Buildx, "build", "--progress", "plain", "--cache-to", "type=inline", "--tag", e.Registry+"/testenv/dockerd:buildx", "--push", dir)
	bx.Env = d.Environ()
	if out, err := bx.CombinedOutput(); err != nil {
		t.Fatalf("buildx build on the docker driver: %v\n%s", err, out)
	} else {
		t.Logf("%s", out)
	}
	if err := httpOK("http://" + e.Registry + "/v2/testenv/dockerd/manifests/buildx"); err != nil {
		t.Fatalf("buildx-pushed image not in the registry: %v", err)
	}
	if err := d.Prune(ctx); err != nil {
		t.Fatal(err)
	}
}
