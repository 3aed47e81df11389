// Package builder finds out how buildx can be run on this machine.
package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/inlinecache/action/internal/command"
	"github.com/inlinecache/action/internal/plan"
)

// LookPath finds a program on PATH.
type LookPath func(file string) (string, error)

// ErrNoBuildx means neither the docker CLI plugin nor a standalone buildx works.
var ErrNoBuildx = errors.New("buildx not found: install the docker buildx plugin (docker buildx version must work) or put a standalone buildx binary on PATH")

// Info is the buildx found.
type Info struct {
	plan.Builder
	// Version is what "buildx version" printed, e.g.
	// "github.com/docker/buildx v0.38.2 0123abc".
	Version string
}

// Detect prefers the docker CLI plugin, as build-push-action does, and
// falls back to a standalone buildx binary.
func Detect(ctx context.Context, lookPath LookPath, run command.Func, env []string) (Info, error) {
	var tried []string
	for _, cmd := range [][]string{{"docker", "buildx"}, {"buildx"}} {
		path, err := lookPath(cmd[0])
		if err != nil {
			continue
		}
		var out, errOut bytes.Buffer
		args := append(append([]string(nil), cmd[1:]...), "version")
		if err := run(ctx, command.Cmd{Path: path, Args: args, Env: env, Stdout: &out, Stderr: &errOut}); err != nil {
			if ctx.Err() != nil {
				return Info{}, err
			}
			tried = append(tried, fmt.Sprintf("%s: %v: %s", strings.Join(cmd, " "), err, strings.TrimSpace(errOut.String())))
			continue
		}
		return Info{Builder: plan.Builder{Command: append([]string{path}, cmd[1:]...)}, Version: strings.TrimSpace(out.String())}, nil
	}
	if len(tried) > 0 {
		return Info{}, fmt.Errorf("%w (%s)", ErrNoBuildx, strings.Join(tried, "; "))
	}
	return Info{}, ErrNoBuildx
}
