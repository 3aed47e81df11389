// Package command runs external programs: directly, never through a shell,
// with output streamed as it comes and the child ended when we are.
package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// Cmd is one program run.
type Cmd struct {
	Path string
	Args []string
	// Env is the child's whole environment; nil inherits ours.
	Env    []string
	Dir    string
	Stdout io.Writer
	Stderr io.Writer
}

// Func runs a command to completion. A non-zero exit is an *ExitError.
// It is the seam tests replace.
type Func func(ctx context.Context, c Cmd) error

// ExitError is a program that ran and failed.
type ExitError struct {
	Path string
	Code int
}

func (e *ExitError) Error() string { return fmt.Sprintf("%s exited with status %d", e.Path, e.Code) }

// gracePeriod is how long a cancelled child may take to stop after SIGTERM
// (buildx uses it to cancel the build on the daemon) before it is killed.
const gracePeriod = 10 * time.Second

// Exec is the real Func.
func Exec(ctx context.Context, c Cmd) error {
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Env = c.Env
	cmd.Dir = c.Dir
	cmd.Stdout = c.Stdout
	cmd.Stderr = c.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = gracePeriod
	err := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("%s stopped: %w", c.Path, context.Cause(ctx))
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &ExitError{Path: c.Path, Code: ee.ExitCode()}
	}
	if err != nil {
		return fmt.Errorf("cannot run %s: %w", c.Path, err)
	}
	return nil
}
