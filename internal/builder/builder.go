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
	"slices"
	"strings"
	"sync"

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
	// Command starts buildx: the CLI plugin's binary run directly
	// ({"/usr/libexec/docker/cli-plugins/docker-buildx"}), or
	// {"/usr/bin/docker", "buildx"} for a plugin only the docker CLI
	// finds, or {"/usr/local/bin/buildx"} for a standalone binary.
	Command []string
	Kind    Kind
	// Version is what "buildx version" printed, e.g.
	// "github.com/docker/buildx v0.38.2 0123abc".
	Version string
	// Inspection is the builder, for buildx kinds.
	Inspection Inspection
	// Docker is the docker CLI and engine, for Legacy.
	Docker Docker
	// Engine is the engine behind a docker-driver builder (engine.go);
	// EngineErr says why docker info could not tell, if it could not.
	Engine    Engine
	EngineErr string
}

// Docker is the docker CLI and the engine it reaches.
type Docker struct {
	Path          string
	ClientVersion string
	ServerVersion string
}

// Host is what detection reads and runs.
type Host struct {
	LookPath LookPath
	Run      command.Func
	// Env is the environment buildx runs in: its DOCKER_CONFIG (or HOME)
	// says where the docker CLI would look for its plugins.
	Env []string
	// ReadFile reads docker's config.json for cliPluginsExtraDirs; nil
	// reads nothing.
	ReadFile func(path string) ([]byte, error)
	// BinaryVersion reads the version a buildx binary carries without
	// running it (EmbeddedVersion); nil, or false, asks the binary.
	BinaryVersion func(path string) (string, bool)
}

// candidate is one way to run buildx.
type candidate struct {
	command []string
	kind    Kind
}

// errNotBuildx marks a candidate that turned out not to be a working
// buildx, so the next one is tried.
type errNotBuildx struct{ msg string }

func (e errNotBuildx) Error() string { return e.msg }

// Detect prefers the docker CLI plugin, as build-push-action does, then a
// standalone buildx, then a bare docker CLI, in one round of processes.
//
// The plugin is found where the docker CLI finds it (plugin.go) and run
// directly: run that way it is a standalone buildx, which reads the docker
// context, DOCKER_HOST, BUILDX_BUILDER and the current builder exactly as
// under the CLI, without the CLI's start and plugin handshake in front of
// every call. Its version comes from the binary itself or from "buildx
// version" run beside "buildx inspect" (name, or buildx's current builder;
// DEBUG=1 adds the driver's features). Without a plugin in those places,
// "docker buildx version" and "docker version" run side by side: the first
// finds a plugin the CLI knows elsewhere, the second is for docker build.
// A builder or engine that cannot build is an error here, before any
// build starts.
func Detect(ctx context.Context, h Host, name string) (Info, error) {
	var tried []string
	dockerPath, dockerErr := h.LookPath("docker")
	var cands []candidate
	if dockerErr == nil && !slices.ContainsFunc(h.Env, func(kv string) bool { return strings.HasPrefix(kv, pluginReexecEnv+"=") }) {
		for _, p := range pluginCandidates(h.Env, h.ReadFile) {
			if path, err := h.LookPath(p); err == nil {
				cands = append(cands, candidate{[]string{path}, Plugin})
				break
			}
		}
	}
	if path, err := h.LookPath("buildx"); err == nil {
		cands = append(cands, candidate{[]string{path}, Standalone})
	}
	for _, c := range cands {
		var version string
		if h.BinaryVersion != nil {
			version, _ = h.BinaryVersion(c.command[0])
		}
		info, err := probe(ctx, h, c, name, version)
		var nb errNotBuildx
		if errors.As(err, &nb) {
			tried = append(tried, nb.msg)
			continue
		}
		if err == nil {
			cli := dockerPath
			if dockerErr != nil {
				cli = ""
			}
			info = withEngine(ctx, h, cli, info)
		}
		return info, err
	}
	if dockerErr != nil {
		if len(tried) > 0 {
			return Info{}, fmt.Errorf("%w (%s)", ErrNoBuildx, strings.Join(tried, "; "))
		}
		return Info{}, ErrNoBuildx
	}
	return viaDocker(ctx, h, dockerPath, name, tried)
}

// probe asks one buildx for its builder and, beside that, its version
// unless version already says it.
func probe(ctx context.Context, h Host, c candidate, name, version string) (Info, error) {
	info := Info{Command: c.command, Kind: c.kind}
	known := version != ""
	var (
		wg                sync.WaitGroup
		vOut, vErrOut     string
		vErr              error
		in                Inspection
		inErr, inStartErr error
	)
	if !known {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vOut, vErrOut, vErr = output(ctx, h.Run, h.Env, c.command[0], append(slices.Clone(c.command[1:]), "version")...)
		}()
	}
	in, inErr, inStartErr = inspect(ctx, h.Run, h.Env, c.command, name)
	wg.Wait()
	what := strings.Join(c.command, " ")
	if c.kind == Plugin && len(c.command) == 1 {
		what = "docker buildx plugin " + c.command[0]
	}
	switch {
	case ctx.Err() != nil:
		return Info{}, cmpErr(cmpErr(inErr, vErr), context.Cause(ctx))
	case !known && vErr != nil:
		// buildx that cannot say its version is not a working buildx.
		return Info{}, errNotBuildx{fmt.Sprintf("%s: %v: %s", what, vErr, vErrOut)}
	case inStartErr != nil:
		// A file that does not run (wrong architecture, not a program).
		return Info{}, errNotBuildx{fmt.Sprintf("%s: %v", what, inStartErr)}
	}
	if !known {
		version = strings.TrimSpace(vOut)
	}
	info.Version = version
	info.Inspection = in
	if inErr != nil {
		return info, inErr
	}
	return info, usable(in)
}

// viaDocker is detection through the docker CLI, for a plugin it finds
// where we do not look, or docker build without buildx.
func viaDocker(ctx context.Context, h Host, dockerPath, name string, tried []string) (Info, error) {
	var (
		wg          sync.WaitGroup
		vOut, vErrO string
		vErr        error
		d           Docker
		dErr        error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		vOut, vErrO, vErr = output(ctx, h.Run, h.Env, dockerPath, "buildx", "version")
	}()
	if name == "" {
		d, dErr = dockerVersions(ctx, h.Run, h.Env, dockerPath)
	}
	wg.Wait()
	if ctx.Err() != nil {
		return Info{}, ctx.Err()
	}
	if vErr == nil {
		info, err := probe(ctx, h, candidate{[]string{dockerPath, "buildx"}, Plugin}, name, strings.TrimSpace(vOut))
		if err == nil {
			info = withEngine(ctx, h, dockerPath, info)
		}
		return info, err
	}
	tried = append(tried, fmt.Sprintf("docker buildx: %v: %s", vErr, vErrO))
	if name != "" {
		return Info{}, fmt.Errorf("builder %q was asked for, but buildx is not installed (%s)", name, strings.Join(tried, "; "))
	}
	if dErr != nil {
		return Info{}, dErr
	}
	return Info{Kind: Legacy, Docker: d}, legacyUsable(d)
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func output(ctx context.Context, run command.Func, env []string, path string, args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := run(ctx, command.Cmd{Path: path, Args: args, Env: env, Stdout: &out, Stderr: &errOut})
	return out.String(), strings.TrimSpace(errOut.String()), err
}

// inspect asks buildx about the builder. DEBUG=1 makes buildx list the
// driver's features too (docker/cli's debug switch, honoured by old and new
// buildx alike). A program that could not be started at all also comes
// back as startErr.
func inspect(ctx context.Context, run command.Func, env []string, buildx []string, name string) (in Inspection, err, startErr error) {
	args := append(slices.Clone(buildx[1:]), "inspect")
	if name != "" {
		args = append(args, name)
	}
	out, errOut, err := output(ctx, run, append(slices.Clone(env), "DEBUG=1"), buildx[0], args...)
	what := "the current buildx builder"
	if name != "" {
		what = fmt.Sprintf("buildx builder %q", name)
	}
	if err != nil {
		var exit *command.ExitError
		switch {
		case ctx.Err() != nil:
			return Inspection{}, err, nil
		case !errors.As(err, &exit):
			return Inspection{}, err, err
		}
		return Inspection{}, fmt.Errorf("cannot inspect %s: %v: %s", what, err, lastLine(errOut)), nil
	}
	in, err = ParseInspect(out)
	if err != nil {
		return in, fmt.Errorf("cannot inspect %s: %w", what, err), nil
	}
	return in, nil, nil
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
		return fmt.Errorf("buildx is not installed, and docker CLI %s builds with BuildKit only through the buildx plugin (without it DOCKER_BUILDKIT=1 docker build stops: \"BuildKit is enabled but the buildx component is missing or broken\", and its legacy builder writes no inline cache): install docker-buildx (or use a docker CLI before 23 against an engine with BuildKit)", d.ClientVersion)
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
