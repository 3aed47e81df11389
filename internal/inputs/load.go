package inputs

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/inlinecache/action/internal/ci"
)

// Getenv reads an environment variable.
type Getenv func(string) string

// Source is everything the settings are read from.
type Source struct {
	Getenv Getenv
	// Flags parses Args; it may hold flags of the command's own.
	Flags *flag.FlagSet
	Args  []string
	// Inputs name the inputs the command reads.
	Inputs []string
	// ContextArg makes a positional argument the build context (at most
	// one); otherwise positional arguments are returned.
	ContextArg bool
	// Job is the CI job: its defaults and the workflow run.
	Job ci.Job
}

// LoadSettings reads the settings once, in one pass: flags and INPUT_*, the CI
// job's defaults where the user gave nothing, the positional context,
// {{defaultContext}}, and validation. Nothing changes them afterwards.
// Every problem is reported, each an *Error; flag.ErrHelp for -h.
// Settings.Masks is set even when an error is returned, so secrets can be
// masked before the error is shown.
func LoadSettings(src Source) (Settings, []string, error) {
	vals, pos, err := Read(src.Getenv, src.Flags, src.Args, SpecsOf(src.Inputs))
	masks := vals.SecretValues()
	for _, item := range vals.List(SecretEnvs) {
		if _, name, ok := strings.Cut(item, "="); ok {
			if v := src.Getenv(name); v != "" {
				masks = append(masks, v)
			}
		}
	}
	if err != nil {
		return Settings{Masks: masks}, nil, err
	}
	defaults := vals.gitlabDefaults(src.Job.GitLab)
	s, err := vals.Settings()
	s.Masks, s.Defaults = masks, defaults
	if src.ContextArg {
		switch {
		case len(pos) > 1:
			err = errors.Join(err, &Error{Input: Context, Msg: fmt.Sprintf("one build context expected, got %d: %q", len(pos), pos)})
		case len(pos) == 1:
			s.Context = pos[0]
		}
		pos = nil
	}
	return s, pos, errors.Join(err, s.useGitHub(src.Job.GitHub))
}

// gitlabDefaults fills tags and cache-from from the GitLab job when the
// user gave none: the branch's tag in the project registry, and as cache
// sources that tag plus the default branch's. It says what it set.
func (v Values) gitlabDefaults(g ci.GitLab) []string {
	branch := g.BranchImage()
	if !g.On || branch == "" {
		return nil
	}
	var notes []string
	// An output that names its image is the user's choice of where to
	// push: a default tag would replace that name (buildx gives tags
	// precedence over name=).
	if len(OutputNames(v.List(Outputs))) == 0 && len(v.List(Tags)) == 0 {
		v.lists[Tags] = []string{branch}
		notes = append(notes, fmt.Sprintf("tags: %s (GitLab: CI_REGISTRY_IMAGE:CI_COMMIT_REF_SLUG)", branch))
	}
	if from := g.CacheImages(); len(v.List(CacheFrom)) == 0 {
		why := "this branch, then the default branch"
		if b, err := ParseBool(v.Text(CacheFromBranches)); err == nil && !b {
			from, why = from[:1], "this branch; cache-from-branches is off"
		}
		v.lists[CacheFrom] = from
		notes = append(notes, fmt.Sprintf("cache-from: %s (GitLab: %s)", strings.Join(from, ", "), why))
	}
	return notes
}

// SpecsOf returns the specs of the named inputs.
func SpecsOf(names []string) []Spec {
	var out []Spec
	for _, n := range names {
		s, ok := Lookup(n)
		if !ok {
			panic("unknown input " + n) // a programming error, caught by any test
		}
		out = append(out, s)
	}
	return out
}

// Read gathers the values of the inputs in specs: INPUT_* variables first,
// then command-line flags, which replace the input of the same name. Positional arguments are
// returned to the caller (the build context, or references to verify).
// Defaults apply to whatever neither set. The flags are added to fs, which
// may hold flags of its own. flag.ErrHelp is returned for -h.
func Read(getenv Getenv, fs *flag.FlagSet, args []string, specs []Spec) (Values, []string, error) {
	gha := githubactions.New(githubactions.WithGetenv(githubactions.GetenvFunc(getenv)), githubactions.WithWriter(io.Discard))
	v := Values{text: map[string]string{}, lists: map[string][]string{}}
	var errs []error
	// Inputs a command does not read keep their defaults.
	for _, s := range Specs {
		if s.Kind == Text || s.Kind == Bool {
			v.text[s.Name] = s.Default
		}
	}

	flagged := map[string]*flagValue{}
	for _, s := range specs {
		fv := &flagValue{spec: s}
		flagged[s.Name] = fv
		for _, n := range append([]string{s.Name}, s.Aliases...) {
			fs.Var(fv, n, s.Description)
		}
	}
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return v, nil, err
	}

	for _, s := range specs {
		fv := flagged[s.Name]
		raw := gha.GetInput(s.Name)
		if s.List.NoTrim {
			raw = getenv(inputEnv(s.Name))
		}
		switch s.Kind {
		case Text, Bool:
			switch {
			case fv.set:
				v.text[s.Name] = fv.text
			case raw != "":
				v.text[s.Name] = raw
			default:
				v.text[s.Name] = s.Default
			}
		case CommaList, LineList:
			if fv.set {
				v.lists[s.Name] = fv.list
				continue
			}
			items, err := ParseListWith(raw, s.Kind == CommaList, s.List)
			if err != nil {
				errs = append(errs, &Error{Input: s.Name, Msg: err.Error()})
			}
			v.lists[s.Name] = items
		}
	}
	errs = append(errs, flagErrs(flagged)...)
	return v, positional, errors.Join(errs...)
}

// flagValue collects every spelling of one input's flag.
type flagValue struct {
	spec Spec
	set  bool
	text string
	list []string
	errs []error
}

func (f *flagValue) String() string { return f.text }

func (f *flagValue) IsBoolFlag() bool { return f.spec.Kind == Bool }

func (f *flagValue) Set(s string) error {
	f.set = true
	switch f.spec.Kind {
	case CommaList, LineList:
		items, err := ParseListWith(s, f.spec.Kind == CommaList, f.spec.List)
		if err != nil {
			f.errs = append(f.errs, &Error{Input: f.spec.Name, Msg: err.Error()})
		}
		f.list = append(f.list, items...)
	default:
		f.text = s
	}
	return nil
}

func flagErrs(m map[string]*flagValue) []error {
	var errs []error
	for _, s := range Specs {
		if fv, ok := m[s.Name]; ok {
			errs = append(errs, fv.errs...)
		}
	}
	return errs
}

// parseInterspersed lets positional arguments and flags come in any order
// ("build . --push" as well as "build --push ."), which the flag package
// alone does not; "--" still ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// Usage describes the flags of specs.
func Usage(w io.Writer, specs []Spec) {
	fmt.Fprintln(w, "Flags (each also read from INPUT_<NAME> when running as a GitHub Action; a flag wins):")
	for _, s := range specs {
		names := "--" + s.Name
		for _, a := range s.Aliases {
			if len(a) == 1 {
				names += ", -" + a
			} else {
				names += ", --" + a
			}
		}
		def := ""
		if s.Default != "" {
			def = fmt.Sprintf(" (default %q)", s.Default)
		}
		fmt.Fprintf(w, "  %s%s\n      %s\n", names, def, wrap(s.Description))
	}
}

func wrap(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") }
