//go:build linux

// Command demo runs the main job end to end on this machine: it starts a
// registry and BuildKit of its own, builds and pushes the example project
// with inline cache, verifies it from the registry, empties the build cache
// and builds again to show every step coming from the pushed cache.
//
//	go run ./internal/demo [-project testdata/app]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/inlinecache/action/internal/app"
	"github.com/inlinecache/action/internal/testenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := realMain(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	project := flag.String("project", "testdata/app", "build context to build (its Dockerfile may COPY busybox)")
	flag.Parse()
	logf := func(format string, a ...any) { fmt.Printf("demo: "+format+"\n", a...) }

	tools, err := testenv.EnsureTools(ctx, logf)
	if err != nil {
		return err
	}
	env, err := testenv.Start(ctx, tools, logf)
	if err != nil {
		return err
	}
	defer env.Close()
	logf("registry on %s, buildkitd %s on %s", env.Registry, testenv.BuildKitVersion, env.BuildkitdSocket)

	dir, err := env.Project(*project)
	if err != nil {
		return err
	}
	// The tool runs in this process, as the binary would, with the
	// environment's DOCKER_CONFIG, builder and PATH.
	for _, kv := range env.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	tag := env.Registry + "/demo/app:latest"
	args := []string{"build", "--tag", tag, "--push", dir}

	banner("1/3  first build: build, push with inline cache, verify from the registry")
	if code := app.Main(ctx, args, app.OSEnv()); code != 0 {
		return fmt.Errorf("first build failed with status %d", code)
	}
	banner("2/3  empty the build cache, as on a fresh CI machine: buildx prune -af")
	if err := env.Prune(ctx); err != nil {
		return err
	}
	banner("3/3  rebuild: the cache comes from the pushed image (type=registry,ref=" + tag + ")")
	if code := app.Main(ctx, args, app.OSEnv()); code != 0 {
		return fmt.Errorf("rebuild failed with status %d", code)
	}
	banner("done: the rebuild's result block above counts the cached steps, per stage, and lists the steps that ran")
	return nil
}

func banner(s string) {
	fmt.Printf("\n==== %s\n\n", s)
}
