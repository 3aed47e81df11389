// Package report tells the user what happened: log lines, warnings and
// errors, step outputs and the job summary, shaped for the CI it runs in.
package report

import (
	"fmt"
	"io"
	"os"

	"github.com/sethvargo/go-githubactions"
)

// Sink is where a run reports to.
type Sink interface {
	// Group starts a collapsible log section; call the result to end it.
	Group(title string) (end func())
	Infof(format string, a ...any)
	Warning(msg string)
	Error(msg string)
	SetOutput(name, value string) error
	Summary(markdown string) error
}

// ForEnv picks the GitHub Actions sink when GITHUB_ACTIONS=true (as GitHub
// and act set it) and the plain one elsewhere: workflow commands printed in
// other CI would show in clear and mean nothing.
func ForEnv(getenv func(string) string, w io.Writer) Sink {
	if getenv("GITHUB_ACTIONS") == "true" {
		return &GitHub{w: w, getenv: getenv, gha: githubactions.New(githubactions.WithWriter(w), githubactions.WithGetenv(githubactions.GetenvFunc(getenv)))}
	}
	return &Plain{w: w}
}

// GitHub reports with workflow commands and environment files.
type GitHub struct {
	w      io.Writer
	getenv func(string) string
	gha    *githubactions.Action
}

func (g *GitHub) Group(title string) func() {
	g.gha.Group(title)
	return g.gha.EndGroup
}

func (g *GitHub) Infof(format string, a ...any) { fmt.Fprintf(g.w, format+"\n", a...) }

// Warning becomes an annotation; %, CR and LF are escaped by the library.
func (g *GitHub) Warning(msg string) { g.gha.Warningf("%s", msg) }

func (g *GitHub) Error(msg string) { g.gha.Errorf("%s", msg) }

func (g *GitHub) SetOutput(name, value string) error {
	path := g.getenv("GITHUB_OUTPUT")
	if path == "" {
		return fmt.Errorf("cannot set output %q: GITHUB_OUTPUT is not set", name)
	}
	return FileCommand(path, name, value)
}

func (g *GitHub) Summary(markdown string) error {
	path := g.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return fmt.Errorf("cannot write the job summary: GITHUB_STEP_SUMMARY is not set")
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("cannot write the job summary: %w", err)
	}
	_, err = io.WriteString(f, markdown)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot write the job summary: %w", err)
	}
	return nil
}

// Plain reports as plain log lines, for any other CI or a terminal.
type Plain struct {
	w io.Writer
}

func (p *Plain) Group(title string) func() {
	fmt.Fprintf(p.w, "=== %s\n", title)
	return func() {}
}

func (p *Plain) Infof(format string, a ...any) { fmt.Fprintf(p.w, format+"\n", a...) }

func (p *Plain) Warning(msg string) { fmt.Fprintf(p.w, "warning: %s\n", msg) }

func (p *Plain) Error(msg string) { fmt.Fprintf(p.w, "error: %s\n", msg) }

// SetOutput does nothing: outside GitHub the result block carries the
// results.
func (p *Plain) SetOutput(string, string) error { return nil }

func (p *Plain) Summary(string) error { return nil }
