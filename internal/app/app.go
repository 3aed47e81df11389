// Package app is the inline-cache command: it reads inputs, plans and runs
// the build, verifies the pushed cache and reports. All I/O comes in through
// Env so that tests can run it whole.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/inlinecache/action/internal/command"
	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/verify"
)

// Exit statuses.
const (
	ExitOK     = 0
	ExitFailed = 1 // the build failed or the cache is not verified
	ExitUsage  = 2 // bad input; nothing was run
)

// Env is everything the command touches outside itself.
type Env struct {
	Getenv func(string) string
	// Environ is passed to buildx.
	Environ []string
	// Dir is the working directory relative paths are read from.
	Dir      string
	Stdout   io.Writer
	Stderr   io.Writer
	Exec     command.Func
	LookPath func(string) (string, error)
	// VerifyOptions are added to every verifier (tests pass a transport).
	VerifyOptions []verify.Option
}

// OSEnv is the Env of the running process.
func OSEnv() Env {
	dir, _ := os.Getwd()
	return Env{
		Getenv:   os.Getenv,
		Environ:  os.Environ(),
		Dir:      dir,
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Exec:     command.Exec,
		LookPath: exec.LookPath,
	}
}

// exitError carries an exit status up to Main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(err error) error  { return &exitError{code: ExitUsage, err: err} }
func failedErr(err error) error { return &exitError{code: ExitFailed, err: err} }

// Main runs the command line args (without the program name) and returns
// the exit status.
func Main(ctx context.Context, args []string, env Env) int {
	err := run(ctx, args, env)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && !errors.Is(ee.err, errReported) {
			fmt.Fprintf(env.Stderr, "inline-cache: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(env.Stderr, "inline-cache: %v\n", err)
	return ExitFailed
}

// errReported marks an error already shown to the user in detail.
var errReported = errors.New("reported")

const usageText = `inline-cache builds container images with BuildKit's inline cache,
pushes them and proves from the registry that the cache is there.

Usage:
  inline-cache build [flags] [CONTEXT]    build, push and verify (the GitHub Action runs this)
  inline-cache verify [flags] REF...      verify images already in a registry
  inline-cache inspect [flags] REF        show what an image's inline cache holds
  inline-cache version [--json]           print version, commit, Go version and platform

Run "inline-cache build -h" for the flags. Every flag can also be given as a
GitHub Actions input (INPUT_<NAME>); a flag wins over the input.

Exit status: 0 success, 1 build failed or cache not verified, 2 bad input.
`

func run(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usageText)
		return usageErr(errors.New("no command given"))
	}
	switch args[0] {
	case "build":
		return runBuild(ctx, args[1:], env)
	case "verify":
		return runVerify(ctx, args[1:], env)
	case "inspect":
		return runInspect(ctx, args[1:], env)
	case "version", "--version":
		return runVersion(args[1:], env)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usageText)
		return nil
	}
	fmt.Fprint(env.Stderr, usageText)
	return usageErr(fmt.Errorf("unknown command %q", args[0]))
}

// readInputs parses flags and INPUT_* for the given inputs; fs may carry
// extra command-only flags.
func readInputs(env Env, fs *flag.FlagSet, args []string, names ...string) (inputs.Values, []string, error) {
	vals, pos, err := inputs.Read(env.Getenv, fs, args, specsOf(names))
	if errors.Is(err, flag.ErrHelp) {
		return vals, nil, &exitError{code: ExitOK, err: errReported}
	}
	if err != nil {
		return vals, nil, usageErr(err)
	}
	return vals, pos, nil
}
