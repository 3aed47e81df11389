//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/inlinecache/action/internal/testenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
	tools, err := testenv.EnsureTools(ctx, logf)
	if err != nil {
		panic(err)
	}
	env, err := testenv.Start(ctx, tools, logf)
	if err != nil {
		panic(err)
	}
	defer env.Close()
	bi, err := testenv.EnsureBaseImages(ctx, tools, logf)
	if err != nil {
		panic(err)
	}
	if err := env.PushBaseImages(ctx, bi); err != nil {
		panic(err)
	}
	var b strings.Builder
	for _, kv := range env.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "export %s=%q\n", k, v)
	}
	fmt.Fprintf(&b, "export REG=%s\nexport GOTAG=%s\n", env.Registry, bi.GoTag)
	os.WriteFile(os.Args[1], []byte(b.String()), 0o600)
	logf("READY")
	<-ctx.Done()
}
