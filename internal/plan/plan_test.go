package plan

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/inlinecache/action/internal/cacheentry"
	"github.com/inlinecache/action/internal/inputs"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func tags(t *testing.T, ss ...string) []inputs.Tag {
	t.Helper()
	var out []inputs.Tag
	for _, s := range ss {
		ref, err := name.NewTag(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, inputs.Tag{Raw: s, Ref: ref})
	}
	return out
}

func entries(t *testing.T, ss ...string) []cacheentry.Entry {
	t.Helper()
	var out []cacheentry.Entry
	for _, s := range ss {
		es, err := cacheentry.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, es...)
	}
	return out
}

var docker = Builder{Command: []string{"/usr/bin/docker", "buildx"}}

// TestGolden checks the whole command line of representative builds.
func TestGolden(t *testing.T) {
	base := func() inputs.Settings {
		return inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, Verify: inputs.VerifyStrict}
	}
	tests := []struct {
		name    string
		builder Builder
		mod     func(*inputs.Settings)
	}{
		{"minimal", docker, func(s *inputs.Settings) {}},
		{"push", docker, func(s *inputs.Settings) {
			s.Tags = tags(t, "ghcr.io/acme/app:main", "ghcr.io/acme/app:sha-123")
			s.Push = true
		}},
		{"standalone-buildx", Builder{Command: []string{"/usr/local/bin/buildx"}}, func(s *inputs.Settings) {
			s.Tags = tags(t, "ghcr.io/acme/app:main")
			s.Push = true
		}},
		{"every-input", docker, func(s *inputs.Settings) {
			s.Context = "./app"
			s.File = "./app/Dockerfile.prod"
			s.Tags = tags(t, "ghcr.io/acme/app:main")
			s.Push = true
			s.BuildArgs = []string{"VERSION=1.2.3", "COMMIT=abc"}
			s.Labels = []string{"org.opencontainers.image.source=https://github.com/acme/app"}
			s.Platforms = []string{"linux/amd64", "linux/arm64"}
			s.Target = "runtime"
			s.Builder = "ci"
			s.CacheFrom = entries(t, "type=registry,ref=ghcr.io/acme/app:cache", "ghcr.io/acme/app:main")
			s.CacheTo = entries(t, "type=registry,ref=ghcr.io/acme/app:cache,mode=max")
			s.NoCache = true
			s.Pull = true
			s.Provenance = "mode=max"
		}},
		{"build-arg-method", docker, func(s *inputs.Settings) {
			s.Tags = tags(t, "ghcr.io/acme/app:main")
			s.Push = true
			s.CacheMethod = inputs.MethodBuildArg
			s.CacheTo = entries(t, "type=inline", "type=registry,ref=ghcr.io/acme/app:cache")
		}},
		{"load-no-push", docker, func(s *inputs.Settings) {
			s.Tags = tags(t, "app:dev")
			s.Load = true
		}},
		{"build-push-action-inputs", docker, dropInSettings(t)},
		{"github-git-context", docker, gitContextSettings(t)},
		{"local-output", docker, func(s *inputs.Settings) {
			s.Outputs = []string{"type=local,dest=out"}
			s.Attests = []string{"type=provenance,mode=max", "type=sbom"}
			s.SBOM = "false"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.mod(&s)
			p, err := New(s, tt.builder, "/tmp/ic")
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			b.WriteString("# cache-method: " + string(p.CacheMethod) + "\n")
			for _, n := range p.Notes {
				b.WriteString("# note: " + n + "\n")
			}
			b.WriteString(p.Path + "\n")
			for _, a := range p.Args {
				b.WriteString("  " + a + "\n")
			}
			checkGolden(t, tt.name, b.String())
		})
	}
}

// count returns how often flag value pairs equal to want appear in args.
func count(args []string, flagName, want string) int {
	n := 0
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flagName && args[i+1] == want {
			n++
		}
	}
	return n
}

func countPrefix(args []string, flagName, prefix string) int {
	n := 0
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flagName && strings.HasPrefix(args[i+1], prefix) {
			n++
		}
	}
	return n
}

// TestExactlyOneInlineMechanism covers every combination of method and what
// the user already put in build-args and cache-to.
func TestExactlyOneInlineMechanism(t *testing.T) {
	methods := []inputs.CacheMethod{inputs.MethodAuto, inputs.MethodCacheTo, inputs.MethodBuildArg}
	userArgs := [][]string{nil, {"BUILDKIT_INLINE_CACHE=1"}, {"BUILDKIT_INLINE_CACHE=1", "BUILDKIT_INLINE_CACHE=true"}, {"BUILDKIT_INLINE_CACHE"}}
	userTo := [][]string{nil, {"type=inline"}, {"inline"}, {"type=inline", "type=inline"}, {"type=registry,ref=r.example/c:1,mode=max"}}
	for _, m := range methods {
		for _, ua := range userArgs {
			for _, ut := range userTo {
				s := inputs.Settings{Context: ".", CacheMethod: m, BuildArgs: append([]string{"X=1"}, ua...)}
				for _, e := range ut {
					es := entries(t, e)
					if e == "inline" {
						es = []cacheentry.Entry{{Type: "inline"}} // as inputs normalises it
					}
					s.CacheTo = append(s.CacheTo, es...)
				}
				p, err := New(s, docker, "/tmp")
				if err != nil {
					t.Fatalf("%s %q %q: %v", m, ua, ut, err)
				}
				arg := countPrefix(p.Args, "--build-arg", "BUILDKIT_INLINE_CACHE")
				to := count(p.Args, "--cache-to", "type=inline")
				if arg+to != 1 {
					t.Errorf("%s args=%q to=%q: %d build-arg and %d cache-to inline mechanisms, want exactly one:\n%q", m, ua, ut, arg, to, p.Args)
				}
				if arg == 1 && count(p.Args, "--build-arg", "BUILDKIT_INLINE_CACHE=1") != 1 {
					t.Errorf("%s: build-arg not normalised to =1: %q", m, p.Args)
				}
				switch {
				case m == inputs.MethodCacheTo && to != 1, m == inputs.MethodBuildArg && arg != 1:
					t.Errorf("method %s not honoured: %q", m, p.Args)
				case m == inputs.MethodAuto && len(ua) > 0 && !hasInline(ut) && arg != 1:
					t.Errorf("auto ignored the user's build-arg: %q", p.Args)
				}
				if p.CacheMethod == inputs.MethodAuto {
					t.Errorf("auto was not resolved")
				}
				if count(p.Args, "--build-arg", "X=1") != 1 {
					t.Errorf("unrelated build-arg lost: %q", p.Args)
				}
				if strings.Contains(strings.Join(ut, ""), "mode=max") && count(p.Args, "--cache-to", "type=registry,ref=r.example/c:1,mode=max") != 1 {
					t.Errorf("unrelated cache-to lost: %q", p.Args)
				}
			}
		}
	}
}

func hasInline(ss []string) bool {
	for _, s := range ss {
		if strings.Contains(s, "inline") {
			return true
		}
	}
	return false
}

func TestCacheFromEveryPushedTagOnce(t *testing.T) {
	s := inputs.Settings{
		Context: ".", CacheMethod: inputs.MethodAuto, Push: true,
		Tags:      tags(t, "r.example/a:1", "r.example/a:2"),
		CacheFrom: entries(t, "r.example/a:1", "type=local,src=/c"),
	}
	p, err := New(s, docker, "/tmp")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"type=registry,ref=r.example/a:1", "type=registry,ref=r.example/a:2", "type=local,src=/c"} {
		if n := count(p.Args, "--cache-from", want); n != 1 {
			t.Errorf("--cache-from %s appears %d times, want once: %q", want, n, p.Args)
		}
	}

	s.Push = false
	p, err = New(s, docker, "/tmp")
	if err != nil {
		t.Fatal(err)
	}
	if n := count(p.Args, "--cache-from", "type=registry,ref=r.example/a:2"); n != 0 {
		t.Errorf("unpushed tag used as cache source: %q", p.Args)
	}
}

func TestModeMaxNote(t *testing.T) {
	s := inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, CacheTo: entries(t, "type=inline,mode=max", "type=registry,ref=r.example/c:1,mode=max")}
	p, err := New(s, docker, "/tmp")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Notes) != 2 {
		t.Errorf("notes = %q, want one for the inline mode=max and one for the registry export", p.Notes)
	}
}

// checkGolden compares a rendered plan with testdata/<name>.golden, or
// rewrites that file with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/plan -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("plan differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
	}
}
