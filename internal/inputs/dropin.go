package inputs

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/docker/go-units"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/inlinecache/action/internal/buildflags"
	"github.com/inlinecache/action/internal/ci"
)

// Secret is a secret given by value: it reaches buildx through a private
// temporary file, never through its arguments.
type Secret struct {
	ID    string
	Value string
}

// SecretFile is a secret read by buildx from a file the user names.
type SecretFile struct {
	ID   string
	Path string
}

// SecretEnv is a secret read by buildx from an environment variable.
type SecretEnv struct {
	ID  string
	Env string
}

// DropIn holds build-push-action's inputs beyond the ones the inline cache
// needs, read with the same list rules and passed on with the same meaning.
type DropIn struct {
	AddHosts       []string
	Allow          []string
	Annotations    []string
	Attests        []buildflags.Attest
	BuildContexts  []string
	Call           string
	CgroupParent   string
	Network        string
	NoCacheFilters []string
	Outputs        []buildflags.Output
	SBOM           string
	Secrets        []Secret
	SecretEnvs     []SecretEnv
	SecretFiles    []SecretFile
	ShmSize        string
	SSH            []string
	Ulimits        []string
	GitHubToken    string

	// GitHub is the workflow run, when there is one.
	GitHub ci.GitHub
}

// inputEnv is the variable GitHub sets for an input.
func inputEnv(name string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
}

// dropIn reads and checks the build-push-action inputs into s.
func (v Values) dropIn(s *Settings, fail failFunc) {
	d := &s.DropIn
	d.Allow = v.List(Allow)
	d.Call = strings.TrimSpace(v.Text(Call))
	d.CgroupParent = v.Text(CgroupParent)
	d.Network = v.Text(Network)
	d.NoCacheFilters = v.List(NoCacheFilters)
	d.SBOM = v.Text(SBOM)
	d.SSH = v.List(SSH)
	d.ShmSize = v.Text(ShmSize)
	d.GitHubToken = v.Text(GitHubToken)

	d.AddHosts = parseEach(v, AddHosts, fail, func(h string) (string, error) {
		if err := checkHost(h); err != nil {
			return "", fmt.Errorf("%q: %w", h, err)
		}
		return h, nil
	})
	d.Annotations = parseEach(v, Annotations, fail, func(a string) (string, error) {
		if k, _, ok := strings.Cut(a, "="); !ok || strings.TrimSpace(k) == "" {
			return "", fmt.Errorf("%q is not [type:]key=value", a)
		}
		return a, nil
	})
	d.Attests = parseEach(v, Attests, fail, buildflags.ParseAttest)
	d.BuildContexts = parseEach(v, BuildContexts, fail, func(c string) (string, error) {
		if k, val, ok := strings.Cut(c, "="); !ok || strings.TrimSpace(k) == "" || val == "" {
			return "", fmt.Errorf("%q is not name=path-or-URL", c)
		}
		return c, nil
	})
	if len(d.NoCacheFilters) > 0 && s.NoCache {
		fail(NoCacheFilters, "cannot be used together with no-cache: true (buildx refuses the pair)")
	}
	d.Outputs = v.outputs(fail)
	if d.ShmSize != "" {
		if _, err := units.RAMInBytes(d.ShmSize); err != nil {
			fail(ShmSize, "%q is not a size (e.g. 64m, 2g): %v", d.ShmSize, err)
		}
	}
	d.Ulimits = parseEach(v, Ulimit, fail, func(u string) (string, error) {
		if _, err := units.ParseUlimit(u); err != nil {
			return "", fmt.Errorf("%q: %w", u, err)
		}
		return u, nil
	})
	v.secrets(d, fail)
}

// outputs reads the outputs; a name that is not a valid tag fails the
// input, and the output is kept.
func (v Values) outputs(fail failFunc) []buildflags.Output {
	return parseEach(v, Outputs, fail, func(o string) (buildflags.Output, error) {
		out, err := buildflags.ParseOutput(o)
		if err != nil {
			return out, fmt.Errorf("%q: %w", o, err)
		}
		for _, n := range out.Names() {
			if _, err := name.NewTag(n); err != nil {
				fail(Outputs, "name %q is not a valid image tag: %v", n, err)
			}
		}
		return out, nil
	})
}

// secrets reads the three secret inputs, id=<value, variable or path>
// each.
func (v Values) secrets(d *DropIn, fail failFunc) {
	// Secret values never appear in a message: a malformed line may be the
	// secret itself.
	line := 0
	for _, p := range parseEach(v, Secrets, fail, func(sec string) ([2]string, error) {
		line++
		return idPair(sec, fmt.Sprintf("line %d is not id=value (the line is not shown: it may hold the secret)", line))
	}) {
		d.Secrets = append(d.Secrets, Secret{ID: p[0], Value: p[1]})
	}
	for _, p := range parseEach(v, SecretEnvs, fail, func(sec string) ([2]string, error) {
		return idPair(sec, fmt.Sprintf("%q is not id=VARIABLE", sec))
	}) {
		d.SecretEnvs = append(d.SecretEnvs, SecretEnv{ID: p[0], Env: p[1]})
	}
	for _, p := range parseEach(v, SecretFiles, fail, func(sec string) ([2]string, error) {
		return idPair(sec, fmt.Sprintf("%q is not id=path", sec))
	}) {
		d.SecretFiles = append(d.SecretFiles, SecretFile{ID: p[0], Path: p[1]})
	}
}

// idPair splits id=value, both not empty; bad is the failure otherwise.
func idPair(s, bad string) ([2]string, error) {
	id, val, ok := strings.Cut(s, "=")
	if !ok || id == "" || val == "" {
		return [2]string{}, errors.New(bad)
	}
	return [2]string{id, val}, nil
}

// checkHost reads an add-hosts entry as buildx does: host=ip, or host:ip
// (split at the first colon, so IPv6 addresses work), ip may be
// host-gateway.
func checkHost(h string) error {
	host, ip, ok := strings.Cut(h, "=")
	if !ok {
		host, ip, ok = strings.Cut(h, ":")
	}
	switch {
	case !ok || strings.TrimSpace(host) == "":
		return fmt.Errorf("not host:ip")
	case ip == "host-gateway":
		return nil
	case net.ParseIP(strings.Trim(ip, "[]")) == nil:
		return fmt.Errorf("%q is not an IP address", ip)
	}
	return nil
}

// OutputNames are the image names (name=) of image and registry outputs:
// where the build pushes when no tags are given. Entries that do not parse
// name nothing (Settings reports them).
func OutputNames(outputs []string) []string {
	var out []string
	for _, o := range outputs {
		if parsed, err := buildflags.ParseOutput(o); err == nil {
			out = append(out, parsed.Names()...)
		}
	}
	return out
}

// PushedTags are the tags the build pushes to: tags, or without tags the
// names of outputs that push (or every image output's, with push), once
// each. buildx replaces an image output's name= with the tags when there are
// any, so a name= is never pushed next to tags.
func (s Settings) PushedTags() []Tag {
	out := slices.Clone(s.Tags)
	if len(out) > 0 {
		return out
	}
	seen := map[string]bool{}
	for _, t := range out {
		seen[t.Raw] = true
	}
	for _, o := range s.Outputs {
		if !o.Pushes() && !(s.Push && o.Type == "image") {
			continue
		}
		for _, n := range o.Names() {
			ref, err := name.NewTag(n)
			if err != nil || seen[n] {
				continue
			}
			seen[n] = true
			out = append(out, Tag{Raw: n, Ref: ref})
		}
	}
	return out
}

// Pushes reports whether the build pushes an image: push, or an output
// that pushes.
func (s Settings) Pushes() bool {
	if s.Push {
		return true
	}
	for _, o := range s.Outputs {
		if o.Pushes() {
			return true
		}
	}
	return false
}

// Evaluates reports whether call asks buildx for something other than a
// build (check, outline, targets): nothing is exported then.
func (d DropIn) Evaluates() bool {
	name, _, _ := strings.Cut(d.Call, ",")
	name = strings.ToLower(strings.TrimSpace(name))
	return name != "" && name != "build"
}

// defaultContextRE matches the handlebars placeholder build-push-action
// expands in context and build-contexts.
var defaultContextTokens = []string{"{{defaultContext}}", "{{ defaultContext }}"}

// useGitHub records the run and expands {{defaultContext}} in context and
// build-contexts as build-push-action does. Using the placeholder outside a
// GitHub Actions run is an input error.
func (s *Settings) useGitHub(g ci.GitHub) error {
	s.GitHub = g
	def := g.DefaultContext()
	expand := func(input, v string) (string, error) {
		out := v
		for _, tok := range defaultContextTokens {
			out = strings.ReplaceAll(out, tok, def)
		}
		if out != v && def == "" {
			return v, &Error{Input: input, Msg: "{{defaultContext}} is the workflow's git context and needs a GitHub Actions run (GITHUB_REPOSITORY)"}
		}
		return out, nil
	}
	var err error
	if s.Context, err = expand(Context, s.Context); err != nil {
		return err
	}
	for i, c := range s.BuildContexts {
		if s.BuildContexts[i], err = expand(BuildContexts, c); err != nil {
			return err
		}
	}
	return nil
}

// SecretValues are the values to mask in logs: the secrets given by value
// and the GitHub token (also for lines of a multi-line value).
func (v Values) SecretValues() []string {
	var out []string
	add := func(s string) {
		if strings.TrimSpace(s) == "" {
			return
		}
		out = append(out, s)
		if strings.ContainsAny(s, "\r\n") {
			for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
				if strings.TrimSpace(l) != "" {
					out = append(out, l)
				}
			}
		}
	}
	for _, sec := range v.List(Secrets) {
		if _, val, ok := strings.Cut(sec, "="); ok {
			add(val)
		} else {
			add(sec) // malformed, and perhaps the secret itself
		}
	}
	add(v.Text(GitHubToken))
	return out
}
