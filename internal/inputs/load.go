package inputs

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// Getenv reads an environment variable.
type Getenv func(string) string

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
