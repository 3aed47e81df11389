package inputs

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/ci"
)

func TestCacheSourceInputs(t *testing.T) {
	t.Parallel()
	s, _, err := read(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !s.FromBranches || s.BranchTagTemplate != "{{branch}}" || s.MinCacheHit != 0 || s.RequireCacheSource || !s.StepTimings || s.CacheStages != StagesOff {
		t.Errorf("defaults: %+v", s.CacheSources)
	}
	s, _, err = read(t, map[string]string{"cache-from-branches": "false", "branch-tag-template": "cache-{{branch}}", "min-cache-hit": "80", "require-cache-source": "true", "step-timings": "false", "cache-stages": "registry"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (CacheSources{BranchTagTemplate: "cache-{{branch}}", MinCacheHit: 80, RequireCacheSource: true, CacheStages: StagesRegistry,
		Mounts: CacheMounts{Mode: MountsOff, MaxSize: 2e9}}); s.CacheSources != want {
		t.Errorf("got %+v, want %+v", s.CacheSources, want)
	}
	if s, _, err = read(t, map[string]string{"min-cache-hit": "100%"}); err != nil || s.MinCacheHit != 100 {
		t.Errorf("min-cache-hit 100%%: %d, %v", s.MinCacheHit, err)
	}
}

func TestBadCacheSourceInputs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env   map[string]string
		input string
		says  string
	}{
		{map[string]string{"cache-from": "type=inline"}, "cache-from", "type=inline cannot be imported (BuildKit has no inline cache importer, so it would import nothing): the inline cache is read from the image itself; write type=registry,ref=<image>"},
		{map[string]string{"cache-from": "type=inline,ref=ghcr.io/acme/app:main"}, "cache-from", "write type=registry,ref=ghcr.io/acme/app:main"},
		{map[string]string{"min-cache-hit": "101"}, "min-cache-hit", `"101" is not a whole percentage from 0 to 100`},
		{map[string]string{"min-cache-hit": "-1"}, "min-cache-hit", "not a whole percentage"},
		{map[string]string{"min-cache-hit": "half"}, "min-cache-hit", "not a whole percentage"},
		{map[string]string{"require-cache-source": "sometimes"}, "require-cache-source", "not a boolean"},
		{map[string]string{"cache-from-branches": "maybe"}, "cache-from-branches", "not a boolean"},
		{map[string]string{"step-timings": "yes please"}, "step-timings", "not a boolean"},
		{map[string]string{"cache-stages": "max"}, "cache-stages", `"max" is not one of off, images, registry`},
		{map[string]string{"branch-tag-template": "cache"}, "branch-tag-template", "does not contain {{branch}}"},
		{map[string]string{"branch-tag-template": "-{{branch}}"}, "branch-tag-template", `does not make a valid image tag for branch feature/x: "-feature-x" is not a valid image tag`},
	} {
		wantInputError(t, tt.env, tt.input, tt.says)
	}
}

// A type=inline cache-to with a ref: the ref is ignored, and a note says
// so; without a ref, nothing is said.
func TestInlineCacheToRef(t *testing.T) {
	t.Parallel()
	s, _, err := read(t, map[string]string{"cache-to": "type=inline,ref=ghcr.io/acme/app:cache"})
	if err != nil {
		t.Fatal(err)
	}
	want := "cache-to: type=inline ignores ref=ghcr.io/acme/app:cache: the inline cache is written into the pushed image itself (its tags); for a cache image of its own, use type=registry,ref=ghcr.io/acme/app:cache"
	if len(s.Notes) != 1 || s.Notes[0] != want {
		t.Errorf("notes = %q, want %q", s.Notes, want)
	}
	if s, _, err = read(t, map[string]string{"cache-to": "type=inline"}); err != nil || len(s.Notes) != 0 {
		t.Errorf("plain type=inline: notes %q, %v", s.Notes, err)
	}
}

// cache-from-branches: false leaves GitLab's default cache-from at the
// branch's own image.
func TestGitLabDefaultsWithoutBranches(t *testing.T) {
	t.Parallel()
	job := ci.Job{GitLab: ci.GitLab{On: true, RegistryImage: "r.example/g/app", RefSlug: "feat-x", DefaultBranch: "main"}}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := map[string]string{"CACHE-FROM-BRANCHES": "false"}
	s, _, err := LoadSettings(Source{
		Getenv: func(k string) string { return env[strings.TrimPrefix(k, "INPUT_")] },
		Flags:  fs, Inputs: []string{Context, Tags, CacheFrom, CacheFromBranches}, Job: job,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.CacheFrom) != 1 || s.CacheFrom[0].String() != "type=registry,ref=r.example/g/app:feat-x" ||
		s.Defaults[1] != "cache-from: r.example/g/app:feat-x (GitLab: this branch; cache-from-branches is off)" {
		t.Errorf("cache-from %v defaults %q", s.CacheFrom, s.Defaults)
	}
}
