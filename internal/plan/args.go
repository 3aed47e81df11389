package plan

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/inlinecache/action/internal/inputs"
)

// TempSecret is a secret value the caller writes to Path (mode 0600) before
// the build and removes after it: buildx reads it with
// --secret id=ID,src=Path, so the value never appears on a command line.
type TempSecret struct {
	ID    string
	Path  string
	Value string
}

// dropInArgs are the buildx flags of build-push-action's other inputs, with
// the meaning build-push-action gives them. Secrets given by value are
// returned for the caller to write under tmpDir.
func dropInArgs(s inputs.Settings, tmpDir string) ([]string, []TempSecret) {
	var args []string
	each := func(flag string, vals []string) {
		for _, v := range vals {
			args = append(args, flag, v)
		}
	}
	one := func(flag, v string) {
		if v != "" {
			args = append(args, flag, v)
		}
	}
	each("--add-host", s.AddHosts)
	each("--allow", s.Allow)
	each("--annotation", s.Annotations)
	each("--build-context", s.BuildContexts)
	one("--call", s.Call)
	one("--cgroup-parent", s.CgroupParent)
	each("--no-cache-filter", s.NoCacheFilters)
	each("--output", s.Outputs)
	each("--attest", attestArgs(s))

	// Secrets: env and file sources name where the value is; values given
	// inline go through private files.
	for _, e := range s.SecretEnvs {
		args = append(args, "--secret", csvJoin("id="+e.ID, "env="+e.Env))
	}
	var temps []TempSecret
	addTemp := func(id, value string) {
		p := filepath.Join(tmpDir, fmt.Sprintf("secret-%d", len(temps)))
		temps = append(temps, TempSecret{ID: id, Path: p, Value: value})
		args = append(args, "--secret", csvJoin("id="+id, "src="+p))
	}
	for _, sec := range s.Secrets {
		addTemp(sec.ID, sec.Value)
	}
	for _, f := range s.SecretFiles {
		args = append(args, "--secret", csvJoin("id="+f.ID, "src="+f.Path))
	}
	if id, ok := gitAuthSecret(s); ok {
		addTemp(id, s.GitHubToken)
	}

	one("--shm-size", s.ShmSize)
	each("--ssh", s.SSH)
	each("--ulimit", s.Ulimits)
	one("--network", s.Network)
	return args, temps
}

// gitAuthSecret is build-push-action's use of github-token: the token
// reaches a git context of the workflow's own repository as
// GIT_AUTH_TOKEN.<host>, unless the secrets already carry one.
func gitAuthSecret(s inputs.Settings) (string, bool) {
	def := s.GitHub.DefaultContext()
	if s.GitHubToken == "" || def == "" || !strings.HasPrefix(s.Context, def) {
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

// attestArgs follows build-push-action: provenance and sbom become
// type=provenance/type=sbom attestations and win over attests entries of
// the same type; bare booleans become disabled=. Unlike build-push-action,
// no provenance is added when none is asked for (see README).
func attestArgs(s inputs.Settings) []string {
	var out []string
	provSet, sbomSet := false, false
	if s.Provenance != "" {
		out = append(out, boolAttrs("type=provenance,"+provenanceAttrs(s.Provenance, s.GitHub.RunURL())))
		provSet = true
	}
	if s.SBOM != "" {
		out = append(out, boolAttrs("type=sbom,"+s.SBOM))
		sbomSet = true
	}
	for _, a := range s.Attests {
		switch t := attestType(a); {
		case t != "provenance" && t != "sbom":
			out = append(out, boolAttrs(a))
		case t == "provenance" && !provSet:
			out = append(out, withBuilderID(a, s.GitHub.RunURL()))
		case t == "sbom" && !sbomSet:
			out = append(out, a)
		}
	}
	return out
}

// provenanceAttrs reads the provenance input: a YAML boolean, or attributes.
func provenanceAttrs(in, runURL string) string {
	b, err := inputs.ParseBool(in)
	switch {
	case err != nil:
		return withBuilderID(in, runURL)
	case !b:
		return "false"
	case runURL != "":
		return "builder-id=" + runURL
	}
	return "true"
}

// withBuilderID names the workflow run as the builder, unless the
// attributes already name one (or there is no run).
func withBuilderID(attrs, runURL string) string {
	if runURL == "" {
		return attrs
	}
	for _, f := range csvSplit(attrs) {
		if k, _, _ := strings.Cut(f, "="); strings.TrimSpace(k) == "builder-id" {
			return attrs
		}
	}
	return attrs + ",builder-id=" + runURL
}

// boolAttrs turns bare boolean fields into disabled=, as buildx reads
// --provenance=false.
func boolAttrs(attrs string) string {
	fields := csvSplit(attrs)
	for i, f := range fields {
		if b, err := strconv.ParseBool(strings.TrimSpace(f)); err == nil {
			fields[i] = "disabled=" + strconv.FormatBool(!b)
		}
	}
	return strings.Join(fields, ",")
}

func attestType(a string) string {
	for _, f := range csvSplit(a) {
		if k, v, ok := strings.Cut(f, "="); ok && strings.TrimSpace(k) == "type" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func csvSplit(s string) []string {
	r := csv.NewReader(strings.NewReader(s))
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	var out []string
	for {
		rec, err := r.Read()
		if err != nil {
			break
		}
		out = append(out, rec...)
	}
	return out
}

// csvJoin writes fields as one CSV record, quoting any that need it (a
// path with a comma), as buildx parses --secret.
func csvJoin(fields ...string) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(fields) // a bytes.Buffer cannot fail
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// exportsImageID reports whether buildx can write --iidfile: not for local
// or tar outputs (build-push-action leaves it out then too).
func exportsImageID(s inputs.Settings) bool {
	for _, o := range s.Outputs {
		if t := inputs.OutputType(o); t == "local" || t == "tar" {
			return false
		}
	}
	return true
}
