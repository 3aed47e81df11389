// Package report tells the user what happened: log lines, warnings and
// errors, step outputs and the job summary, shaped for the CI it runs in.
package report

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/sethvargo/go-githubactions"
)

// Log is the job's log: groups, lines, annotations and masks.
type Log interface {
	// Group starts a collapsible log section; call the result to end it.
	Group(title string) (end func())
	Infof(format string, a ...any)
	Warning(msg string)
	Error(msg string)
	// WarningTitle and ErrorTitle are Warning and Error with an annotation
	// title (GitHub shows it in the run's summary of annotations).
	WarningTitle(title, msg string)
	ErrorTitle(title, msg string)
	// Annotate is a warning or error on a line of a file (GitHub shows it
	// on that line of the file, and in the run's annotations).
	Annotate(a Annotation)
	// Mask hides a secret value in everything printed after it (GitHub
	// only: elsewhere nothing would honour a mask, so we just never print
	// secrets).
	Mask(value string)
}

// Annotation is a warning or an error about a line of a file.
type Annotation struct {
	Error         bool // else a warning
	Title, Msg    string
	File          string // as the repository names it
	Line, EndLine int    // 1-based; 0 for none
}

// Outputs are the step's results for what runs after it: step outputs and
// the job summary.
type Outputs interface {
	// Preflight checks, before the build, that the outputs can be written.
	Preflight() error
	SetOutput(name, value string) error
	Summary(markdown string) error
}

// Sink is both, as each CI provides them.
type Sink interface {
	Log
	Outputs
}

// ForEnv picks the GitHub Actions sink when GITHUB_ACTIONS=true (as GitHub
// and act set it) and the plain one elsewhere: workflow commands printed in
// other CI would show in clear and mean nothing.
func ForEnv(getenv func(string) string, w io.Writer) Sink {
	if getenv("GITHUB_ACTIONS") == "true" {
		return &GitHub{w: w, getenv: getenv, gha: githubactions.New(githubactions.WithWriter(w), githubactions.WithGetenv(githubactions.GetenvFunc(getenv)))}
	}
	if getenv("GITLAB_CI") == "true" {
		return &GitLab{Plain: Plain{w: w}}
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

func (g *GitHub) WarningTitle(title, msg string) {
	g.gha.WithFieldsMap(map[string]string{"title": title}).Warningf("%s", msg)
}

func (g *GitHub) ErrorTitle(title, msg string) {
	g.gha.WithFieldsMap(map[string]string{"title": title}).Errorf("%s", msg)
}

func (g *GitHub) Annotate(a Annotation) {
	f := map[string]string{}
	for k, v := range map[string]string{"title": a.Title, "file": a.File} {
		if v != "" {
			f[k] = v
		}
	}
	if a.Line > 0 {
		f["line"] = strconv.Itoa(a.Line)
		if a.EndLine > a.Line {
			f["endLine"] = strconv.Itoa(a.EndLine)
		}
	}
	gha := g.gha.WithFieldsMap(f)
	if a.Error {
		gha.Errorf("%s", a.Msg)
		return
	}
	gha.Warningf("%s", a.Msg)
}

// Mask registers value with the runner's log masker.
func (g *GitHub) Mask(value string) {
	if value != "" {
		g.gha.AddMask(value)
	}
}

func (g *GitHub) SetOutput(name, value string) error {
	path := g.getenv("GITHUB_OUTPUT")
	if path == "" {
		return fmt.Errorf("cannot set output %q: GITHUB_OUTPUT is not set (is this running as a GitHub Actions step?)", name)
	}
	if err := FileCommand(path, name, value); err != nil {
		return fmt.Errorf("GITHUB_OUTPUT file %s: %w", path, err)
	}
	return nil
}

// Preflight checks that the step's output file can be written, so that a
// broken runner environment fails before the build rather than after it.
func (g *GitHub) Preflight() error {
	path := g.getenv("GITHUB_OUTPUT")
	if path == "" {
		return fmt.Errorf("GITHUB_OUTPUT is not set (is this running as a GitHub Actions step?): the outputs could not be set")
	}
	if err := appendFile(path, ""); err != nil {
		return fmt.Errorf("GITHUB_OUTPUT file %s cannot be written: %w", path, err)
	}
	return nil
}

func (g *GitHub) Summary(markdown string) error {
	path := g.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return fmt.Errorf("cannot write the job summary: GITHUB_STEP_SUMMARY is not set")
	}
	if err := appendFile(path, markdown); err != nil {
		return fmt.Errorf("cannot write the job summary to GITHUB_STEP_SUMMARY file %s: %w", path, err)
	}
	return nil
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return unwrapPath(err)
	}
	_, err = io.WriteString(f, s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// unwrapPath drops the "open <path>:" prefix where the message names the
// file already.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
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

func (p *Plain) WarningTitle(_, msg string) { p.Warning(msg) }

func (p *Plain) ErrorTitle(_, msg string) { p.Error(msg) }

// Annotate prints "warning: Dockerfile:12: msg", as compilers do.
func (p *Plain) Annotate(a Annotation) {
	msg := a.Msg
	if a.File != "" && a.Line > 0 {
		msg = fmt.Sprintf("%s:%d: %s", a.File, a.Line, msg)
	}
	if a.Error {
		p.Error(msg)
		return
	}
	p.Warning(msg)
}

// Mask does nothing: no log outside GitHub honours masks; secrets are
// simply never printed.
func (p *Plain) Mask(string) {}

// SetOutput does nothing: outside GitHub the result block carries the
// results.
func (p *Plain) SetOutput(string, string) error { return nil }

func (p *Plain) Summary(string) error { return nil }

// Preflight has nothing to check.
func (p *Plain) Preflight() error { return nil }
