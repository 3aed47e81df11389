// Command inline-cache builds container images with BuildKit's inline cache,
// pushes them and verifies from the registry that the cache is really there.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/inlinecache/action/internal/app"
)

func main() {
	// A cancelled CI job sends SIGINT or SIGTERM: the context ends the build.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], app.OSEnv())
	stop()
	os.Exit(code)
}
