// Package builder finds out, before anything is built, what the build will
// talk to: the docker buildx plugin, a standalone buildx, or only a docker
// CLI; and for buildx, the builder's driver, nodes and their BuildKit.
package builder

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/inlinecache/action/internal/command"
)

// LookPath finds a program on PATH.
type LookPath func(file string) (string, error)

// ErrNoBuildx means neither the docker CLI plugin nor a standalone buildx
// works, and there is no docker CLI to fall back to either.
var ErrNoBuildx = errors.New("neither buildx nor docker found: install the docker buildx plugin (docker buildx version must work) or put a standalone buildx binary on PATH")

// Kind is how the build is run.
type Kind string

// Kinds of installation.
const (
	Plugin     Kind = "docker buildx plugin"
	Standalone Kind = "standalone buildx"
	// Legacy is a docker CLI without buildx: "docker build" with the
	// engine's own BuildKit.
	Legacy Kind = "docker build (no buildx)"
)

// Info is what was found.
type Info struct {
	// Command starts buildx: {"/usr/bin/docker", "buildx"} for the CLI
	// plugin, or {"/usr/local/bin/buildx"} for a standalone binary.
	Command []string
	Kind    Kind
	// Version is what "buildx version" printed, e.g.
	// "github.com/docker/buildx v0.38.2 0123abc".
	Version string
	// Inspection is the builder, for buildx kinds.
	Inspection Inspection
	// Docker is the docker CLI and engine, for Legacy.
	Docker Docker
}

// Docker is the docker CLI and the engine it reaches.
type Docker struct {
	Path          string
	ClientVersion string
	ServerVersion string
}

// Detect prefers the docker CLI plugin, as build-push-action does, then a
// standalone buildx, then a bare docker CLI. For buildx it inspects the
// builder (name, or buildx's current one if empty) in one call; for docker
// it asks client and engine versions in one call. A builder or engine that
// cannot build is an error here, before any build starts.
func Detect(ctx context.Context, lookPath LookPath, run command.Func, env []string, name string) (Info, error) {
	var tried []string
	dockerPath, dockerErr := lookPath("docker")
	for _, cmd := range [][]string{{"docker", "buildx"}, {"buildx"}} {
		path := dockerPath
		if cmd[0] != "docker" {
			var err error
			if path, err = lookPath(cmd[0]); err != nil {
				continue
			}
		} else if dockerErr != nil {
			continue
		}
		out, errOut, err := output(ctx, run, env, path, append(cmd[1:], "version")...)
		if err != nil {
			if ctx.Err() != nil {
				return Info{}, err
			}
			tried = append(tried, fmt.Sprintf("%s: %v: %s", strings.Join(cmd, " "), err, errOut))
			continue
		}
		info := Info{
			Command: append([]string{path}, cmd[1:]...),
			Kind:    Plugin,
			Version: strings.TrimSpace(out),
		}
		if cmd[0] == "buildx" {
			info.Kind = Standalone
		}
		info.Inspection, err = inspect(ctx, run, env, info.Command, name)
		if err != nil {
			return info, err
		}
		return info, usable(info.Inspection)
	}
	if dockerErr != nil {
		if len(tried) > 0 {
			return Info{}, fmt.Errorf("%w (%s)", ErrNoBuildx, strings.Join(tried, "; "))
		}
		return Info{}, ErrNoBuildx
	}
	if name != "" {
		return Info{}, fmt.Errorf("builder %q was asked for, but buildx is not installed (%s)", name, strings.Join(tried, "; "))
	}
	d, err := dockerVersions(ctx, run, env, dockerPath)
	if err != nil {
		return Info{}, err
	}
	return Info{Kind: Legacy, Docker: d}, legacyUsable(d)
}

func output(ctx context.Context, run command.Func, env []string, path string, args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := run(ctx, command.Cmd{Path: path, Args: args, Env: env, Stdout: &out, Stderr: &errOut})
	return out.String(), strings.TrimSpace(errOut.String()), err
}

// inspect asks buildx about the builder. DEBUG=1 makes buildx list the
// driver's features too (docker/cli's debug switch, honoured by old and new
// buildx alike).
func inspect(ctx context.Context, run command.Func, env []string, buildx []string, name string) (Inspection, error) {
	args := append(append([]string(nil), buildx[1:]...), "inspect")
	if name != "" {
		args = append(args, name)
	}
	out, errOut, err := output(ctx, run, append(append([]string(nil), env...), "DEBUG=1"), buildx[0], args...)
	what := "the current buildx builder"
	if name != "" {
		what = fmt.Sprintf("buildx builder %q", name)
	}
	if err != nil {
		if ctx.Err() != nil {
			return Inspection{}, err
		}
		return Inspection{}, fmt.Errorf("cannot inspect %s: %v: %s", what, err, lastLine(errOut))
	}
	in, err := ParseInspect(out)
	if err != nil {
		return in, fmt.Errorf("cannot inspect %s: %w", what, err)
	}
	return in, nil
}

// usable refuses a builder that cannot build, in one message.
func usable(in Inspection) error {
	if in.Error != "" {
		msg := fmt.Sprintf("buildx builder %q cannot be used: %s", in.Name, in.Error)
		if in.Driver == "" || in.Driver == "docker" {
			msg += " (is the docker daemon running, and DOCKER_HOST or the docker context right?)"
		}
		return errors.New(msg)
	}
	if len(in.Nodes) == 0 {
		return fmt.Errorf("buildx builder %q (driver %s) has no nodes", in.Name, in.Driver)
	}
	for _, n := range in.Nodes {
		switch {
		case n.Error != "":
			return fmt.Errorf("buildx builder %q: node %s at %s cannot be used: %s", in.Name, n.Name, n.Endpoint, n.Error)
		// A remote node is a daemon someone else runs: buildx cannot start
		// it, and reports it inactive when it cannot connect.
		case in.Driver == "remote" && n.Status != "running":
			return fmt.Errorf("buildx builder %q: node %s is %s: no BuildKit daemon answers at %s (is it running, does the socket exist?)", in.Name, n.Name, n.Status, n.Endpoint)
		}
	}
	return nil
}

// dockerVersions asks the CLI for its own version and the engine's. With no
// engine it still prints the client part, and the reason on stderr.
func dockerVersions(ctx context.Context, run command.Func, env []string, path string) (Docker, error) {
	out, errOut, err := output(ctx, run, env, path, "version", "--format", "{{json .}}")
	if ctx.Err() != nil {
		return Docker{}, ctx.Err()
	}
	var v struct {
		Client struct{ Version string }
		Server *struct{ Version string }
	}
	d := Docker{Path: path}
	if jerr := json.Unmarshal([]byte(firstLine(out)), &v); jerr == nil {
		d.ClientVersion = v.Client.Version
		if v.Server != nil {
			d.ServerVersion = v.Server.Version
		}
	}
	if err != nil || d.ServerVersion == "" {
		reason := lastLine(errOut)
		if reason == "" && err != nil {
			reason = err.Error()
		}
		return d, fmt.Errorf("buildx is not installed and no docker daemon answers, so nothing can build: %s", reason)
	}
	return d, nil
}

// legacyUsable refuses a docker CLI that cannot build with BuildKit without
// buildx: since docker 23 "docker build" with DOCKER_BUILDKIT=1 needs the
// buildx plugin, and the classic builder writes no inline cache.
func legacyUsable(d Docker) error {
	major := 0
	fmt.Sscanf(d.ClientVersion, "%d", &major)
	if major >= 23 {
		return fmt.Errorf("buildx is not installed, and docker CLI %s builds with BuildKit only through the buildx plugin: install docker-buildx (or use a docker CLI before 23 against an engine with BuildKit)", d.ClientVersion)
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		return strings.TrimSpace(s[i+1:])
	}
	return s
}
