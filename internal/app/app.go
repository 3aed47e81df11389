// Package app is the inline-cache command: it reads inputs, plans and runs
// the build, verifies the pushed cache and reports. The commands' I/O comes
// in through Env (programs, environment, streams, files) so that tests can
// run it whole; the registry is reached through verify.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/inlinecache/action/internal/builder"
	"github.com/inlinecache/action/internal/command"
	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/verify"
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
	// Files is the disk; nil is the real one.
	Files Files
	// BinaryVersion reads the version a buildx binary carries without
	// running it (builder.EmbeddedVersion); nil asks buildx.
	BinaryVersion func(path string) (string, bool)
}

// Files is what the command does with the disk besides what it runs.
type Files interface {
	// FS reads the disk from its root.
	fs.FS
	// MkdirTemp creates a private directory for one run.
	MkdirTemp(pattern string) (string, error)
	// Mkdir creates a private directory.
	Mkdir(path string) error
	RemoveAll(path string) error
	// WriteSecret creates path with mode 0600; it never overwrites.
	WriteSecret(path, value string) error
	// Create creates or truncates a file the user named for an output.
	Create(path string) (io.WriteCloser, error)
}

func (e Env) files() Files {
	if e.Files == nil {
		return osFiles{os.DirFS("/")}
	}
	return e.Files
}

// readFile reads an absolute path from Files.
func (e Env) readFile(path string) ([]byte, error) {
	return fs.ReadFile(e.files(), strings.TrimPrefix(filepath.ToSlash(path), "/"))
}

// disk reads the paths users give: relative ones from the working
// directory.
func (e Env) disk() inputs.Disk { return inputs.Disk{FS: e.files(), Dir: e.Dir} }

// osFiles is the real disk.
type osFiles struct{ fs.FS }

func (osFiles) MkdirTemp(pattern string) (string, error)   { return os.MkdirTemp("", pattern) }
func (osFiles) RemoveAll(path string) error                { return os.RemoveAll(path) }
func (osFiles) Mkdir(path string) error                    { return os.Mkdir(path, 0o700) }
func (osFiles) Create(path string) (io.WriteCloser, error) { return os.Create(path) }

func (osFiles) WriteSecret(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// OSEnv is the Env of the running process.
func OSEnv() Env {
	dir, _ := os.Getwd()
	return Env{
		Getenv:        os.Getenv,
		Environ:       os.Environ(),
		Dir:           dir,
		Stdout:        os.Stdout,
		Stderr:        os.Stderr,
		Exec:          command.Exec,
		LookPath:      exec.LookPath,
		BinaryVersion: builder.EmbeddedVersion,
	}
}

// Main runs the command line args (without the program name) and returns
// the exit status. Errors are shown here, once.
func Main(ctx context.Context, args []string, env Env) int {
	if err := run(ctx, args, env); err != nil {
		return show(env.Stderr, err)
	}
	return ExitOK
}

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
