package examples

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/inlinecache/action/internal/ci"
	"github.com/inlinecache/action/internal/inputs"
)

// Pipeline is a .gitlab-ci.yml: its global variables and its jobs.
type Pipeline struct {
	Variables map[string]string
	Jobs      map[string]GitLabJob
}

// GitLabJob is a job of a .gitlab-ci.yml. Decoding is strict: a key the
// job syntax does not have is an error.
type GitLabJob struct {
	Stage        string            `yaml:"stage"`
	Image        yaml.Node         `yaml:"image"`
	Services     yaml.Node         `yaml:"services"`
	Variables    map[string]string `yaml:"variables"`
	BeforeScript []string          `yaml:"before_script"`
	Script       []string          `yaml:"script"`
	AfterScript  []string          `yaml:"after_script"`
	Needs        []string          `yaml:"needs"`
	Rules        yaml.Node         `yaml:"rules"`
	Tags         []string          `yaml:"tags"`
	Timeout      string            `yaml:"timeout"`
	Artifacts    struct {
		Paths   []string `yaml:"paths"`
		Reports struct {
			Dotenv string `yaml:"dotenv"`
		} `yaml:"reports"`
	} `yaml:"artifacts"`
}

// The top-level keys of a .gitlab-ci.yml that are not jobs.
var gitlabGlobal = map[string]bool{
	"default": true, "include": true, "stages": true, "variables": true, "workflow": true,
	"image": true, "services": true, "cache": true, "before_script": true, "after_script": true,
}

// ParsePipeline decodes a .gitlab-ci.yml.
func ParsePipeline(b []byte) (Pipeline, error) {
	var top map[string]yaml.Node
	if err := yaml.Unmarshal(b, &top); err != nil {
		return Pipeline{}, fmt.Errorf(".gitlab-ci.yml: %w", err)
	}
	p := Pipeline{Jobs: map[string]GitLabJob{}}
	if v, ok := top["variables"]; ok {
		if err := v.Decode(&p.Variables); err != nil {
			return Pipeline{}, fmt.Errorf(".gitlab-ci.yml variables: %w", err)
		}
	}
	for name, n := range top {
		if gitlabGlobal[name] || strings.HasPrefix(name, ".") {
			continue
		}
		var j GitLabJob
		if err := decodeStrict(&n, &j); err != nil {
			return Pipeline{}, fmt.Errorf(".gitlab-ci.yml job %s: %w", name, err)
		}
		if len(j.Script) == 0 {
			return Pipeline{}, fmt.Errorf(".gitlab-ci.yml job %s: no script", name)
		}
		p.Jobs[name] = j
	}
	return p, nil
}

// decodeStrict decodes n with unknown keys refused (yaml.Node.Decode
// has no such option, so the node goes through the encoder once).
func decodeStrict(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// JobEnv is the job's variables as GitLab gives them to its script: the
// predefined ones, the pipeline's, then the job's, each replacing the one
// before. Variables named in drop are left out (a test's stand-in for
// what the example's runner would provide).
func (p Pipeline) JobEnv(job string, predefined map[string]string, drop []string) map[string]string {
	env := map[string]string{}
	for _, m := range []map[string]string{predefined, p.Variables, p.Jobs[job].Variables} {
		for k, v := range m {
			env[k] = v
		}
	}
	for _, k := range drop {
		delete(env, k)
	}
	return env
}

// shellSyntax is what a script line may not hold for Command to run it
// as argv: quoting, redirection, pipes, globs, command substitution.
var (
	shellSyntax = regexp.MustCompile("[\"'`\\\\|&;<>(){}*?~]|\\$\\(")
	braceVar    = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*\}`)
)

// Command finds the script line that runs prog and returns its argv, with
// $VAR and ${VAR} expanded from env as the job's shell would. A line that
// needs more of a shell than word splitting and variable expansion, a
// variable that is not set, or not exactly one such line, is an error.
func Command(script []string, prog string, env map[string]string) ([]string, error) {
	var lines []string
	for _, l := range script {
		if f := strings.Fields(l); len(f) > 0 && f[0] == prog {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		return nil, fmt.Errorf("script: %d lines run %s, want 1: %q", len(lines), prog, lines)
	}
	line := lines[0]
	if m := shellSyntax.FindString(braceVar.ReplaceAllString(line, "$$V")); m != "" {
		return nil, fmt.Errorf("script line %q: %q needs a shell; this test runs the command as argv", line, m)
	}
	var errs []error
	var argv []string
	for _, w := range strings.Fields(line) {
		argv = append(argv, os.Expand(w, func(k string) string {
			v, ok := env[k]
			if !ok {
				errs = append(errs, fmt.Errorf("script line %q: $%s is not set", line, k))
			}
			return v
		}))
	}
	return argv, errors.Join(errs...)
}

// Vars are the variables a script line refers to ($VAR, ${VAR}).
func Vars(line string) []string {
	var out []string
	os.Expand(line, func(k string) string {
		out = append(out, k)
		return ""
	})
	return out
}

// buildFlags are the build command's flags beyond the inputs (see
// internal/app/build.go).
var buildFlags = []string{"dotenv"}

// CheckCommand reads an "inline-cache build" argv into settings as the
// binary does in a job with env (flags, the CI job's defaults,
// validation) and reports a flag it does not have, a value it refuses or
// a second build context. It returns the --dotenv file, if any.
func CheckCommand(argv []string, env map[string]string) (dotenv string, err error) {
	if len(argv) < 2 || argv[1] != "build" {
		return "", fmt.Errorf("%q: want inline-cache build …", argv)
	}
	fs := flag.NewFlagSet("inline-cache build", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, f := range buildFlags {
		fs.StringVar(&dotenv, f, "", "")
	}
	getenv := func(k string) string { return env[k] }
	job, err := ci.Detect(getenv, os.ReadFile)
	if err != nil {
		return "", err
	}
	names := make([]string, len(inputs.Specs))
	for i, s := range inputs.Specs {
		names[i] = s.Name
	}
	_, _, err = inputs.LoadSettings(inputs.Source{Getenv: getenv, Flags: fs, Args: argv[2:], Inputs: names, ContextArg: true, Job: job})
	if err != nil {
		return "", fmt.Errorf("%q: %w", argv, err)
	}
	return dotenv, nil
}

// CheckPipeline reports what in a pipeline would not work: the job that
// runs prog has no such command line, a flag the binary lacks, a dotenv
// report that is not the file --dotenv writes, and, in the jobs that need
// it, a variable that is neither predefined, set by the pipeline, nor one
// of dotenv's (the build's outputs, report.DotenvNames).
func (p Pipeline) CheckPipeline(job, prog string, predefined map[string]string, dotenvNames []string) error {
	j, ok := p.Jobs[job]
	if !ok {
		return fmt.Errorf("no job %q", job)
	}
	env := p.JobEnv(job, predefined, nil)
	argv, err := Command(j.Script, prog, env)
	if err != nil {
		return err
	}
	dotenv, err := CheckCommand(argv, env)
	if err != nil {
		return err
	}
	var errs []error
	if dotenv == "" || j.Artifacts.Reports.Dotenv != dotenv {
		errs = append(errs, fmt.Errorf("job %s: artifacts:reports:dotenv is %q, the command writes %q", job, j.Artifacts.Reports.Dotenv, dotenv))
	}
	for _, name := range sortedKeys(p.Jobs) {
		if !slices.Contains(p.Jobs[name].Needs, job) {
			continue
		}
		known := p.JobEnv(name, predefined, nil)
		for _, l := range append(slices.Clone(p.Jobs[name].BeforeScript), p.Jobs[name].Script...) {
			for _, v := range Vars(l) {
				if _, ok := known[v]; !ok && !slices.Contains(dotenvNames, v) {
					errs = append(errs, fmt.Errorf("job %s: $%s is neither a GitLab variable nor one of %s's dotenv outputs", name, v, job))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// GitLabRun is what GitLab tells a pipeline's jobs about where they run.
type GitLabRun struct {
	Registry      string // CI_REGISTRY
	Project       string // CI_PROJECT_PATH, e.g. acme/app
	Branch        string // CI_COMMIT_BRANCH
	DefaultBranch string // CI_DEFAULT_BRANCH
	Dir           string // CI_PROJECT_DIR
	Password      string // the job token: CI_REGISTRY_PASSWORD, CI_JOB_TOKEN
}

// Predefined returns GitLab's predefined variables for a branch pipeline
// (those the examples and the binary read, and their neighbours).
func (j GitLabRun) Predefined() map[string]string {
	return map[string]string{
		"CI":                   "true",
		"GITLAB_CI":            "true",
		"CI_PIPELINE_SOURCE":   "push",
		"CI_SERVER_HOST":       "gitlab.com",
		"CI_PROJECT_PATH":      j.Project,
		"CI_PROJECT_DIR":       j.Dir,
		"CI_DEFAULT_BRANCH":    j.DefaultBranch,
		"CI_COMMIT_BRANCH":     j.Branch,
		"CI_COMMIT_REF_NAME":   j.Branch,
		"CI_COMMIT_REF_SLUG":   RefSlug(j.Branch),
		"CI_REGISTRY":          j.Registry,
		"CI_REGISTRY_IMAGE":    j.Registry + "/" + j.Project,
		"CI_REGISTRY_USER":     "gitlab-ci-token",
		"CI_REGISTRY_PASSWORD": j.Password,
		"CI_JOB_TOKEN":         j.Password,
	}
}

var notSlug = regexp.MustCompile(`[^a-z0-9]+`)

// RefSlug is GitLab's CI_COMMIT_REF_SLUG: lowercased, every run of other
// characters than a-z and 0-9 a '-', at most 63 bytes, no '-' at either end.
func RefSlug(ref string) string {
	s := notSlug.ReplaceAllString(strings.ToLower(ref), "-")
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "-")
}
