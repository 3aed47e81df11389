// Package stages reads a Dockerfile's stages as BuildKit's Dockerfile
// frontend will build them: which stages the target reaches, the chain of
// stages whose layers become the image, and the builder stages whose steps
// the inline cache never holds (BuildKit exports it in min mode: only the
// final image's layers). It uses BuildKit's own parser and instruction
// reader, not dockerfile2llb (which pulls in the solver). It is pure: it
// reads no file and runs nothing.
package stages

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Options are what the build gives the frontend besides the Dockerfile.
type Options struct {
	// BuildArgs are the build-args, KEY=VALUE. A KEY without a value
	// (taken from the environment by buildx) is left unset here.
	BuildArgs []string
	// Target is the stage to build; "" is the last one.
	Target string
	// Platform is the platform built (os/arch[/variant]), which gives the
	// TARGET* arguments a FROM may use; "" leaves them unset.
	Platform string
	// Contexts are the names of the named build contexts
	// (build-contexts name=…), which replace a stage or image of that name.
	Contexts []string
}

// Role is what a stage is to the build.
type Role string

// Roles.
const (
	// Image stages are the target and the stages it is based on: their
	// layers are the image, so the inline cache holds their steps.
	Image Role = "image"
	// Builder stages are reached only through COPY --from or
	// RUN --mount=from=: their results are copied out, their own steps
	// never get layers in the image or its inline cache.
	Builder Role = "builder"
	// Unused stages are not reached from the target: BuildKit skips them.
	Unused Role = "unused"
	// Replaced stages are given as a named build context instead.
	Replaced Role = "replaced"
)

// Step is one instruction of a stage that BuildKit runs as a step of its
// own (RUN, COPY, ADD, WORKDIR); ENV, ARG, LABEL and the like only change
// the image config.
type Step struct {
	// Instruction is RUN, COPY, ADD or WORKDIR.
	Instruction string
	// Text is the instruction as written, on one line.
	Text string
	// Line is where it starts in the Dockerfile (1-based).
	Line int
}

// Costly reports whether the step runs a command: the steps whose re-run
// costs time (a dependency install, a compile).
func (s Step) Costly() bool { return s.Instruction == "RUN" }

// Stage is one FROM and its instructions.
type Stage struct {
	Index int
	// Name is the stage's AS name, lower case as BuildKit keeps it; "" for
	// an unnamed stage.
	Name string
	// Base is the FROM argument with the global ARGs expanded: an image,
	// "scratch" or an earlier stage's name.
	Base string
	// BaseStage is the index of the stage Base names, or -1.
	BaseStage int
	Line      int
	Role      Role
	Steps     []Step
	// From are the stages this stage copies or mounts from (COPY --from,
	// RUN --mount=from=), by index, in order of first use.
	From []int
	// Images are the images (or named contexts) it copies or mounts from.
	Images []string
	// Mounts are its RUN steps' cache mounts (mounts.go).
	Mounts []CacheMount
}

// Label is how messages name the stage: its name, or its index.
func (s Stage) Label() string {
	if s.Name != "" {
		return s.Name
	}
	return "#" + strconv.Itoa(s.Index)
}

// CostlySteps are the stage's RUN steps.
func (s Stage) CostlySteps() []Step {
	var out []Step
	for _, st := range s.Steps {
		if st.Costly() {
			out = append(out, st)
		}
	}
	return out
}

// BeforeSources are the stage's RUN steps before its last COPY or ADD
// from the build context: what a cache of the stage keeps when only the
// copied sources change (a dependency install after copying just its
// manifests). None means every command of the stage runs after the
// sources are copied, so no stage cache saves it a step.
func (s Stage) BeforeSources() []Step {
	last := -1
	for i, st := range s.Steps {
		if (st.Instruction == "COPY" || st.Instruction == "ADD") && !strings.Contains(st.Text, "--from") {
			last = i
		}
	}
	var out []Step
	for _, st := range s.Steps[:max(last, 0)] {
		if st.Costly() {
			out = append(out, st)
		}
	}
	return out
}

// Analysis is a Dockerfile's stages as the target builds them.
type Analysis struct {
	Stages []Stage
	// Target is the index of the stage built.
	Target int
	// Syntax is the # syntax= directive, if any.
	Syntax string
	// Notes say where the analysis may differ from the build: a frontend
	// newer than this parser, a FROM that uses an argument unknown before
	// the build, a --from BuildKit will refuse.
	Notes []string
}

// Chain are the stages whose layers become the image, from the first base
// to the target.
func (a Analysis) Chain() []Stage {
	var out []Stage
	for i := a.Target; i >= 0; i = a.Stages[i].BaseStage {
		out = append([]Stage{a.Stages[i]}, out...)
	}
	return out
}

// Builders are the stages the target reaches only for their results, in
// Dockerfile order.
func (a Analysis) Builders() []Stage { return a.withRole(Builder) }

// BuildersWithSteps are the builder stages that have steps to re-run.
func (a Analysis) BuildersWithSteps() []Stage {
	var out []Stage
	for _, s := range a.Builders() {
		if len(s.Steps) > 0 {
			out = append(out, s)
		}
	}
	return out
}

func (a Analysis) withRole(r Role) []Stage {
	var out []Stage
	for _, s := range a.Stages {
		if s.Role == r {
			out = append(out, s)
		}
	}
	return out
}

// Analyze reads the Dockerfile dt as the build with options o will. An
// error means the Dockerfile could not be read as BuildKit's parser reads
// it (or the target does not exist); the build is still BuildKit's to
// judge, so callers report it and go on.
func Analyze(dt []byte, o Options) (Analysis, error) {
	var a Analysis
	syntax, _, _, _ := parser.DetectSyntax(dt)
	a.Syntax = syntax
	if n := syntaxNote(syntax); n != "" {
		a.Notes = append(a.Notes, n)
	}
	res, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return a, fmt.Errorf("parse the Dockerfile: %w", err)
	}
	parsed, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return a, fmt.Errorf("read the Dockerfile's instructions: %w", err)
	}
	if len(parsed) == 0 {
		return a, fmt.Errorf("the Dockerfile has no FROM")
	}
	lex := shell.NewLex(res.EscapeToken)
	global := globalArgs(lex, metaArgs, o)

	names := map[string]int{} // stage name → index, as BuildKit keeps them
	contexts := map[string]bool{}
	for _, c := range o.Contexts {
		contexts[strings.ToLower(c)] = true
	}
	for i, ps := range parsed {
		st := Stage{Index: i, Name: ps.Name, BaseStage: -1, Line: line(ps.Location)}
		m, err := lex.ProcessWordWithMatches(ps.BaseName, global)
		switch {
		case err != nil:
			a.Notes = append(a.Notes, fmt.Sprintf("line %d: FROM %s: %v", st.Line, ps.BaseName, err))
			st.Base = ps.BaseName
		default:
			st.Base = m.Result
			// An undeclared ARG is empty in BuildKit too; only the
			// platform arguments are unknown before the build.
			if u := platformKeys(m.Unmatched); u != "" {
				a.Notes = append(a.Notes, fmt.Sprintf("line %d: FROM %s uses %s, not known before the build; read as %q", st.Line, ps.BaseName, u, m.Result))
			}
		}
		// FROM finds earlier stages only, by the exact (lower-case) name.
		if j, ok := names[st.Base]; ok && !contexts[st.Base] {
			st.BaseStage = j
		}
		for _, cmd := range ps.Commands {
			st.addCommand(&a, cmd, names, len(parsed))
		}
		if st.Name != "" {
			names[st.Name] = i
		}
		a.Stages = append(a.Stages, st)
	}

	a.Target = len(a.Stages) - 1
	if o.Target != "" {
		t, ok := names[strings.ToLower(o.Target)]
		if !ok {
			return a, fmt.Errorf("target stage %q is not in the Dockerfile", o.Target)
		}
		a.Target = t
	}
	a.assignRoles(contexts)
	return a, nil
}

// addCommand records a command: a step, and the stages or images it uses.
func (st *Stage) addCommand(a *Analysis, cmd instructions.Command, names map[string]int, n int) {
	ln := line(cmd.Location())
	var from []string
	switch c := cmd.(type) {
	case *instructions.RunCommand:
		st.step("RUN", c.String(), ln)
		for _, m := range instructions.GetMounts(c) {
			if m.From != "" {
				from = append(from, m.From)
			}
		}
		st.addMounts(c, ln)
	case *instructions.CopyCommand:
		st.step("COPY", c.String(), ln)
		if c.From != "" {
			from = append(from, c.From)
		}
	case *instructions.AddCommand:
		st.step("ADD", c.String(), ln)
	case *instructions.WorkdirCommand:
		st.step("WORKDIR", c.String(), ln)
	}
	for _, f := range from {
		if strings.Contains(f, "$") {
			// BuildKit refuses variables in COPY --from and resolves a
			// mount's from= before expanding it: either way no stage.
			a.Notes = append(a.Notes, fmt.Sprintf("line %d: --from=%s: BuildKit does not expand variables in --from; define a stage with FROM and a global ARG instead", ln, f))
			st.Images = appendNew(st.Images, f)
			continue
		}
		if i, err := strconv.Atoi(f); err == nil {
			if i < 0 || i >= n || i >= st.Index {
				a.Notes = append(a.Notes, fmt.Sprintf("line %d: --from=%d names no earlier stage", ln, i))
				continue
			}
			st.From = appendNew(st.From, i)
			continue
		}
		if i, ok := names[strings.ToLower(f)]; ok {
			st.From = appendNew(st.From, i)
			continue
		}
		st.Images = appendNew(st.Images, f)
	}
}

func (st *Stage) step(instr, text string, ln int) {
	st.Steps = append(st.Steps, Step{Instruction: instr, Text: oneLine(text), Line: ln})
}

// assignRoles walks from the target: its base chain is the image, every
// other stage it reaches is a builder.
func (a *Analysis) assignRoles(contexts map[string]bool) {
	for i := range a.Stages {
		a.Stages[i].Role = Unused
	}
	chain := map[int]bool{}
	for i := a.Target; i >= 0; i = a.Stages[i].BaseStage {
		chain[i] = true
	}
	seen := map[int]bool{}
	var visit func(i int)
	visit = func(i int) {
		if seen[i] {
			return
		}
		seen[i] = true
		s := &a.Stages[i]
		switch {
		case s.Name != "" && contexts[s.Name] && !chain[i]:
			s.Role = Replaced
			return
		case chain[i]:
			s.Role = Image
		default:
			s.Role = Builder
		}
		if s.BaseStage >= 0 {
			visit(s.BaseStage)
		}
		for _, j := range s.From {
			visit(j)
		}
	}
	visit(a.Target)
}

// globalArgs are the ARGs before the first FROM, with the build-args
// given for them, as BuildKit expands FROM: a build-arg counts only for an
// ARG declared there; defaults may use the ARGs before them.
func globalArgs(lex *shell.Lex, meta []instructions.ArgCommand, o Options) shell.EnvGetter {
	given := map[string]string{}
	for _, ba := range o.BuildArgs {
		if k, v, ok := strings.Cut(ba, "="); ok {
			given[k] = v
		}
	}
	var env []string
	for k, v := range platformArgs(o.Platform) {
		env = append(env, k+"="+v)
	}
	for _, cmd := range meta {
		for _, kv := range cmd.Args {
			v, ok := given[kv.Key]
			if !ok && kv.Value != nil {
				if r, err := lex.ProcessWordWithMatches(*kv.Value, shell.EnvsFromSlice(env)); err == nil {
					v, ok = r.Result, true
				}
			}
			if ok {
				env = append(env, kv.Key+"="+v)
			}
		}
	}
	return shell.EnvsFromSlice(env)
}

// platformArgs are BuildKit's automatic TARGET* arguments for platform p.
func platformArgs(p string) map[string]string {
	if p == "" || p == "local" {
		return nil
	}
	parts := strings.SplitN(p, "/", 3)
	out := map[string]string{"TARGETPLATFORM": p, "TARGETOS": parts[0]}
	if len(parts) > 1 {
		out["TARGETARCH"] = parts[1]
	}
	if len(parts) > 2 {
		out["TARGETVARIANT"] = parts[2]
	}
	return out
}

func line(r []parser.Range) int {
	if len(r) == 0 {
		return 0
	}
	return r[0].Start.Line
}

// oneLine joins a continued instruction into one line with single spaces.
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\\\n", " ")
	return strings.Join(strings.Fields(s), " ")
}

// platformKeys are the automatic platform arguments among unmatched.
func platformKeys(unmatched map[string]struct{}) string {
	var ks []string
	for k := range unmatched {
		if strings.HasPrefix(k, "BUILD") || strings.HasPrefix(k, "TARGET") {
			ks = append(ks, "$"+k)
		}
	}
	slices.Sort(ks)
	return strings.Join(ks, ", ")
}

func appendNew[T comparable](s []T, v T) []T {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}
