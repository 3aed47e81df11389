// Command distgen builds the release binaries into dist/ and writes
// dist/SHA256SUMS, which the action's entry point (dist/index.js) checks
// before it runs a binary. It is Go rather than a shell script so that it
// runs the same on every OS with only Go installed.
//
//	go run ./internal/distgen [-version v1.2.3] [-commit SHA] [-out dist] [-targets linux/amd64,...]
//	go run ./internal/distgen -major-tag v1.2.3   (release.yml: which major tag to move)
//
// `make dist` runs it. -version and -commit default to $VERSION and $COMMIT
// (so `make dist VERSION=v1.2.3` works without the value passing through a
// shell), else to git's answer (git describe --tags --always --dirty; git
// rev-parse HEAD).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/inlinecache/action/internal/command"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "distgen:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("distgen", flag.ContinueOnError)
	version := fs.String("version", os.Getenv("VERSION"), "version stamped into the binaries (default: $VERSION, else git describe --tags --always --dirty)")
	commit := fs.String("commit", os.Getenv("COMMIT"), "commit stamped into the binaries (default: $COMMIT, else git rev-parse HEAD)")
	out := fs.String("out", "dist", "output directory")
	targets := fs.String("targets", strings.Join(DefaultTargets, ","), "comma-separated GOOS/GOARCH list")
	majorOf := fs.String("major-tag", "", "print the major tag (v1) this release tag may move, given git's v* tags, or nothing; build nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *majorOf != "" {
		tags, err := gitOutput(ctx, "tag", "--list", "v*")
		if err != nil {
			return err
		}
		if m := MajorTag(*majorOf, strings.Fields(tags)); m != "" {
			fmt.Println(m)
		}
		return nil
	}
	cfg := Config{Version: *version, Commit: *commit, Out: *out, Pkg: ".", Exec: command.Exec, Stdout: os.Stdout, Stderr: os.Stderr}
	var err error
	if cfg.Targets, err = ParseTargets(*targets); err != nil {
		return err
	}
	if cfg.Version == "" {
		if cfg.Version, err = gitOutput(ctx, "describe", "--tags", "--always", "--dirty"); err != nil {
			return fmt.Errorf("no -version given and git cannot tell: %w", err)
		}
	}
	if cfg.Commit == "" {
		if cfg.Commit, err = gitOutput(ctx, "rev-parse", "HEAD"); err != nil {
			return fmt.Errorf("no -commit given and git cannot tell: %w", err)
		}
	}
	return Build(ctx, cfg)
}

func gitOutput(ctx context.Context, args ...string) (string, error) {
	var b, e strings.Builder
	if err := command.Exec(ctx, command.Cmd{Path: "git", Args: args, Stdout: &b, Stderr: &e}); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(e.String()))
	}
	return strings.TrimSpace(b.String()), nil
}
