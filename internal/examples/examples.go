// Package examples reads the user-facing examples in the repository's
// examples/ directory, so that tests can check them and run them as they
// are: the GitHub workflows' steps, inputs and the outputs later steps
// use, and the GitLab job's variables and script. It also holds the few
// explicit rewrites the end-to-end tests make to run a workflow on this
// machine (ForTest), so that those are tested too.
package examples

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/report"
)

// Action is what the examples write in `uses:`: the published action.
const Action = "inlinecache/action@v1"

// The examples, relative to the examples directory.
const (
	Basic         = "github/basic.yml"
	PullRequest   = "github/pull-request.yml"
	MultiPlatform = "github/multi-platform.yml"
	Act           = "act/image.yml"
	GitLab        = "gitlab/.gitlab-ci.yml"
)

// Workflows are the GitHub workflow examples.
var Workflows = []string{Basic, PullRequest, MultiPlatform, Act}

// Dir is the examples directory, found from the working directory up to
// the module root.
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "examples"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
}

// Workflow is a GitHub Actions workflow. Decoding is strict: a key the
// workflow syntax does not have (a misspelt `wiht:`) is an error.
type Workflow struct {
	Name        string            `yaml:"name"`
	RunName     string            `yaml:"run-name"`
	On          yaml.Node         `yaml:"on"`
	Permissions yaml.Node         `yaml:"permissions"`
	Concurrency yaml.Node         `yaml:"concurrency"`
	Env         map[string]string `yaml:"env"`
	Defaults    yaml.Node         `yaml:"defaults"`
	Jobs        map[string]Job    `yaml:"jobs"`
}

// Job is a workflow job.
type Job struct {
	Name           string            `yaml:"name"`
	RunsOn         string            `yaml:"runs-on"`
	Needs          yaml.Node         `yaml:"needs"`
	If             string            `yaml:"if"`
	Permissions    yaml.Node         `yaml:"permissions"`
	Concurrency    yaml.Node         `yaml:"concurrency"`
	Environment    yaml.Node         `yaml:"environment"`
	Strategy       yaml.Node         `yaml:"strategy"`
	Env            map[string]string `yaml:"env"`
	Defaults       yaml.Node         `yaml:"defaults"`
	Outputs        map[string]string `yaml:"outputs"`
	TimeoutMinutes int               `yaml:"timeout-minutes"`
	Steps          []Step            `yaml:"steps"`
}

// Step is a job step.
type Step struct {
	ID               string            `yaml:"id"`
	Name             string            `yaml:"name"`
	If               string            `yaml:"if"`
	Uses             string            `yaml:"uses"`
	With             map[string]string `yaml:"with"`
	Run              string            `yaml:"run"`
	Shell            string            `yaml:"shell"`
	WorkingDirectory string            `yaml:"working-directory"`
	Env              map[string]string `yaml:"env"`
	ContinueOnError  bool              `yaml:"continue-on-error"`
	TimeoutMinutes   int               `yaml:"timeout-minutes"`
}

// ParseWorkflow decodes a workflow strictly.
func ParseWorkflow(b []byte) (Workflow, error) {
	var w Workflow
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&w); err != nil {
		return Workflow{}, fmt.Errorf("workflow: %w", err)
	}
	if len(w.Jobs) == 0 {
		return Workflow{}, errors.New("workflow: no jobs")
	}
	return w, nil
}

// ActionSteps returns the steps that use the action, by job.
func (w Workflow) ActionSteps() map[string][]Step {
	out := map[string][]Step{}
	for name, j := range w.Jobs {
		for _, s := range j.Steps {
			if s.Uses == Action {
				out[name] = append(out[name], s)
			}
		}
	}
	return out
}

// outputRef is an expression's reference to a step's output.
var outputRef = regexp.MustCompile(`steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)`)

// Check reports what in a workflow would not work with the action: no
// step using it, an input it does not have, a step that uses it without
// an id while later steps read outputs, a reference to an output it does
// not set, or one to a step that does not exist.
func (w Workflow) Check() error {
	var errs []error
	outputs := map[string]bool{}
	for _, o := range report.OutputSpecs {
		outputs[o.Name] = true
	}
	steps := w.ActionSteps()
	if len(steps) == 0 {
		errs = append(errs, fmt.Errorf("no step uses %s", Action))
	}
	for _, job := range sortedKeys(w.Jobs) {
		ids := map[string]bool{}
		for _, s := range steps[job] {
			for _, k := range sortedKeys(s.With) {
				if _, ok := inputs.Lookup(k); !ok {
					errs = append(errs, fmt.Errorf("job %s, step %q: %s has no input %q", job, s.ID, Action, k))
				}
			}
			if s.ID != "" {
				ids[s.ID] = true
			}
		}
		others := map[string]bool{}
		for _, s := range w.Jobs[job].Steps {
			if s.ID != "" && !ids[s.ID] {
				others[s.ID] = true
			}
		}
		for _, text := range w.Jobs[job].texts() {
			for _, m := range outputRef.FindAllStringSubmatch(text, -1) {
				switch id, out := m[1], m[2]; {
				case ids[id] && !outputs[out]:
					errs = append(errs, fmt.Errorf("job %s: steps.%s.outputs.%s: %s has no output %q", job, id, out, Action, out))
				case !ids[id] && !others[id]:
					errs = append(errs, fmt.Errorf("job %s: steps.%s.outputs.%s: no step has the id %q", job, id, out, id))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// texts are the job's strings where expressions can be.
func (j Job) texts() []string {
	var out []string
	for _, s := range j.Steps {
		out = append(out, s.If, s.Run, s.Name)
		for _, m := range []map[string]string{s.With, s.Env} {
			for _, v := range m {
				out = append(out, v)
			}
		}
	}
	for _, m := range []map[string]string{j.Env, j.Outputs} {
		for _, v := range m {
			out = append(out, v)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// SetupActions are the steps a test removes before running a workflow
// here: this machine's test environment is the builder (BUILDX_BUILDER),
// its registry needs no login, and no emulation is installed. The actions
// themselves are GitHub's to run: act would fetch them from GitHub, which
// is not reachable here.
var SetupActions = []string{"docker/setup-buildx-action@", "docker/setup-qemu-action@", "docker/login-action@"}

// Rewrite is what a test changes in a workflow to run it here.
type Rewrite struct {
	// Replace maps a string of the example (a registry host, a platform)
	// to what replaces it in every value of the workflow. Each must occur.
	Replace map[string]string
}

// Rewritten is a workflow as a test runs it, and what was changed.
type Rewritten struct {
	YAML     []byte
	Removed  []string       // "job: uses" of each removed step
	Replaced map[string]int // how many values each Replace key changed
}

// ForTest applies SetupActions and r to a workflow's YAML, changing
// nothing else: comments and key order stay, every other value is as
// written. A Replace key that occurs nowhere is an error (the example
// changed and the test would silently run something else).
func ForTest(src []byte, r Rewrite) (Rewritten, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return Rewritten{}, fmt.Errorf("workflow: %w", err)
	}
	out := Rewritten{Replaced: map[string]int{}}
	jobs := mapValue(docRoot(&doc), "jobs")
	if jobs == nil || jobs.Kind != yaml.MappingNode {
		return Rewritten{}, errors.New("workflow: no jobs")
	}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		name, steps := jobs.Content[i].Value, mapValue(jobs.Content[i+1], "steps")
		if steps == nil || steps.Kind != yaml.SequenceNode {
			continue
		}
		kept := steps.Content[:0:0]
		for _, s := range steps.Content {
			uses := ""
			if u := mapValue(s, "uses"); u != nil {
				uses = u.Value
			}
			if slices.ContainsFunc(SetupActions, func(p string) bool { return strings.HasPrefix(uses, p) }) {
				out.Removed = append(out.Removed, name+": "+uses)
				continue
			}
			kept = append(kept, s)
		}
		steps.Content = kept
	}
	replaceValues(&doc, r.Replace, out.Replaced)
	var missing []string
	for _, k := range sortedKeys(r.Replace) {
		if out.Replaced[k] == 0 {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return Rewritten{}, fmt.Errorf("workflow: %q occurs nowhere, so it cannot be replaced", missing)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return Rewritten{}, err
	}
	out.YAML = b.Bytes()
	return out, nil
}

func docRoot(doc *yaml.Node) *yaml.Node {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0]
	}
	return doc
}

// mapValue is the value of key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// replaceValues replaces in scalar values (never keys), longest key first
// so that one replacement cannot hide inside another.
func replaceValues(n *yaml.Node, repl map[string]string, count map[string]int) {
	keys := sortedKeys(repl)
	sort.SliceStable(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	var walk func(n *yaml.Node, isKey bool)
	walk = func(n *yaml.Node, isKey bool) {
		if n.Kind == yaml.ScalarNode {
			if isKey {
				return
			}
			for _, k := range keys {
				if c := strings.Count(n.Value, k); c > 0 {
					n.Value = strings.ReplaceAll(n.Value, k, repl[k])
					count[k] += c
				}
			}
			return
		}
		for i, c := range n.Content {
			walk(c, n.Kind == yaml.MappingNode && i%2 == 0)
		}
	}
	walk(n, false)
}
