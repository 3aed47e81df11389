package plan

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/inlinecache/action/internal/buildflags"
	"github.com/inlinecache/action/internal/inputs"
)

// TempSecret is a secret value the caller writes to Path (mode 0600) before
// the build and removes after it: the build reads it with
// --secret id=ID,src=Path, so the value never appears on a command line.
type TempSecret struct {
	ID    string
	Path  string
	Value string
}

// dropIn adds the flags of build-push-action's other inputs, with the
// meaning build-push-action gives them; docker build takes the part it has
// flags for (Check refused the rest). Secrets given by value are returned
// for the caller to write under tmpDir.
func (a *argList) dropIn(s inputs.Settings, tmpDir string, buildx bool) []TempSecret {
	a.each("--add-host", s.AddHosts)
	a.each("--allow", s.Allow)
	a.each("--annotation", s.Annotations)
	a.each("--build-context", s.BuildContexts)
	a.one("--call", s.Call)
	a.one("--cgroup-parent", s.CgroupParent)
	a.each("--no-cache-filter", s.NoCacheFilters)
	a.each("--output", strs(s.Outputs))
	if buildx {
		// docker build has no --attest (Check refused every attestation
		// it would have to make; one turned off needs no flag).
		a.each("--attest", strs(attests(s)))
	}

	// Secrets: env and file sources name where the value is; values given
	// inline go through private files.
	for _, e := range s.SecretEnvs {
		a.one("--secret", buildflags.Secret{ID: e.ID, Env: e.Env}.String())
	}
	var temps []TempSecret
	addTemp := func(id, value string) {
		p := filepath.Join(tmpDir, fmt.Sprintf("secret-%d", len(temps)))
		temps = append(temps, TempSecret{ID: id, Path: p, Value: value})
		a.one("--secret", buildflags.Secret{ID: id, Src: p}.String())
	}
	for _, sec := range s.Secrets {
		addTemp(sec.ID, sec.Value)
	}
	for _, f := range s.SecretFiles {
		a.one("--secret", buildflags.Secret{ID: f.ID, Src: f.Path}.String())
	}
	// Only buildx hands a secret to the fetch of a git context.
	if id, ok := gitAuthSecret(s); ok && buildx {
		addTemp(id, s.GitHubToken)
	}

	a.one("--shm-size", s.ShmSize)
	a.each("--ssh", s.SSH)
	a.each("--ulimit", s.Ulimits)
	a.one("--network", s.Network)
	return temps
}

// gitAuthSecret is build-push-action's use of github-token: the token
// reaches a git context of the workflow's own repository as
// GIT_AUTH_TOKEN.<host>, unless the secrets already carry one.
func gitAuthSecret(s inputs.Settings) (string, bool) {
	def := s.GitHub.DefaultContext()
	own := def != "" && (strings.HasPrefix(s.Context, def) || strings.HasPrefix(s.Context, s.GitHub.QueryContext(def)))
	if s.GitHubToken == "" || !own {
		return "", false
	}
	id := "GIT_AUTH_TOKEN." + s.GitHub.Host()
	for _, sec := range s.Secrets {
		if sec.ID == "GIT_AUTH_TOKEN" || sec.ID == id {
			return "", false
		}
	}
	return id, true
}

// attests follows build-push-action: provenance and sbom become
// type=provenance/type=sbom attestations and win over attests entries of
// the same type (whatever the case of the entry's keys: buildx lowercases
// them); bare booleans become disabled=. Unlike build-push-action, no
// provenance is added when none is asked for (see docs/differences.md).
func attests(s inputs.Settings) []buildflags.Attest {
	var out []buildflags.Attest
	runURL := s.GitHub.RunURL()
	if s.Provenance != "" {
		out = append(out, provenance(s.Provenance, runURL))
	}
	if s.SBOM != "" {
		out = append(out, fromInput("sbom", s.SBOM))
	}
	for _, a := range s.Attests {
		switch {
		case a.Type == "provenance" && s.Provenance == "":
			out = append(out, withBuilderID(a, runURL))
		case a.Type == "sbom" && s.SBOM == "":
			out = append(out, a)
		case a.Type != "provenance" && a.Type != "sbom":
			out = append(out, a.WithBoolsAsDisabled())
		}
	}
	return out
}

// fromInput reads the provenance or sbom input: a YAML boolean, or
// attributes.
func fromInput(typ, in string) buildflags.Attest {
	attrs, _ := buildflags.ParseAttrs(in) // lazy CSV: a non-empty value always reads
	return buildflags.Attest{Type: typ, Attrs: attrs}.WithBoolsAsDisabled()
}

// provenance is the provenance input's attestation, naming the workflow
// run as the builder.
func provenance(in, runURL string) buildflags.Attest {
	b, err := inputs.ParseBool(in)
	switch {
	case err != nil:
		return withBuilderID(fromInput("provenance", in), runURL)
	case b && runURL != "":
		return buildflags.Attest{Type: "provenance", Attrs: buildflags.Attrs{{Key: "builder-id", Value: runURL}}}
	}
	return fromInput("provenance", in)
}

// withBuilderID names the workflow run as the builder, unless the
// attributes already name one (or there is no run).
func withBuilderID(a buildflags.Attest, runURL string) buildflags.Attest {
	if runURL == "" || a.Attrs.Has("builder-id") {
		return a
	}
	a.Attrs = append(a.Attrs[:len(a.Attrs):len(a.Attrs)], buildflags.Attr{Key: "builder-id", Value: runURL})
	return a
}

// exportsImageID reports whether buildx can write --iidfile: not for local
// or tar outputs (build-push-action leaves it out then too).
func exportsImageID(s inputs.Settings) bool {
	for _, o := range s.Outputs {
		if o.Type == "local" || o.Type == "tar" {
			return false
		}
	}
	return true
}
