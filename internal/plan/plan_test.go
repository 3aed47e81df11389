package plan

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/inlinecache/action/internal/buildflags"
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

func entries(t *testing.T, ss ...string) []buildflags.CacheEntry {
	t.Helper()
	var out []buildflags.CacheEntry
	for _, s := range ss {
		es, err := buildflags.ParseCache(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, es...)
	}
	return out
}

// remote is a buildx builder that can do everything.
func remote(command ...string) Backend {
	return BuildxBackend(command, "ci", "remote", map[Capability]bool{MultiPlatform: true, CacheExport: true, Attestations: true, PushByDigest: true})
}

var (
	docker = remote("/usr/bin/docker", "buildx")
	legacy = DockerBackend("/usr/bin/docker")
)

// attestations pretends a Settings field of parsed entries.
func attestsOf(t *testing.T, ss ...string) []buildflags.Attest {
	t.Helper()
	var out []buildflags.Attest
	for _, s := range ss {
		a, err := buildflags.ParseAttest(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func outputsOf(t *testing.T, ss ...string) []buildflags.Output {
	t.Helper()
	var out []buildflags.Output
	for _, s := range ss {
		o, err := buildflags.ParseOutput(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

// build is the build step's arguments.
func build(t *testing.T, p Plan) []string {
	t.Helper()
	if len(p.Steps) == 0 || p.Steps[0].Kind != Build {
		t.Fatalf("plan does not start with a build: %+v", p.Steps)
	}
	return p.Steps[0].Args
}

func writeStep(b *strings.Builder, st Step) {
	for _, e := range st.Env {
		b.WriteString(e + " ")
	}
	b.WriteString(st.Path + "\n")
	for _, a := range st.Args {
		b.WriteString("  " + a + "\n")
	}
}

// TestGolden checks the whole command line of representative builds.
func TestGolden(t *testing.T) {
	t.Parallel()
	base := func() inputs.Settings {
		return inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, Verify: inputs.VerifyStrict}
	}
	tests := []struct {
		name    string
		builder Backend
		mod     func(*inputs.Settings)
	}{
		{"minimal", docker, func(s *inputs.Settings) {}},
		{"push", docker, func(s *inputs.Settings) {
			s.Tags = tags(t, "ghcr.io/acme/app:main", "ghcr.io/acme/app:sha-123")
			s.Push = true
		}},
		{"standalone-buildx", remote("/usr/local/bin/buildx"), func(s *inputs.Settings) {
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
			s.Outputs = outputsOf(t, "type=local,dest=out")
			s.Attests = attestsOf(t, "type=provenance,mode=max", "type=sbom")
			s.SBOM = "false"
		}},
		// docker build without buildx: the same flags, and docker push.
		{"legacy-push", legacy, func(s *inputs.Settings) {
			s.Tags = tags(t, "registry.gitlab.example/acme/app:main", "registry.gitlab.example/acme/app:sha-123")
			s.Push = true
		}},
		{"legacy-every-input", legacy, func(s *inputs.Settings) {
			s.Context = "./app"
			s.File = "./app/Dockerfile.prod"
			s.Tags = tags(t, "r.example/acme/app:main")
			s.Push = true
			s.BuildArgs = []string{"VERSION=1.2.3", "BUILDKIT_INLINE_CACHE=true"}
			s.Labels = []string{"org.opencontainers.image.source=https://example.invalid/acme/app"}
			s.Platforms = []string{"linux/amd64"}
			s.Target = "runtime"
			s.CacheFrom = entries(t, "r.example/acme/app:cache")
			s.CacheTo = entries(t, "type=inline,mode=max")
			s.NoCache = true
			s.Pull = true
			s.Provenance = "false"
		}},
		{"legacy-drop-in", legacy, func(s *inputs.Settings) {
			s.Tags = tags(t, "r.example/acme/app:main")
			s.Push = true
			s.AddHosts = []string{"db:10.0.0.5"}
			s.CgroupParent = "/ci"
			s.Secrets = []inputs.Secret{{ID: "token", Value: "s3cr3t"}}
			s.SecretFiles = []inputs.SecretFile{{ID: "npmrc", Path: "/home/ci/.npmrc"}}
			s.ShmSize = "2g"
			s.SSH = []string{"default"}
			s.Ulimits = []string{"nofile=1024:1024"}
			s.Network = "host"
		}},
		{"legacy-load", legacy, func(s *inputs.Settings) {
			s.Tags = tags(t, "app:dev")
			s.Load = true
			s.CacheMethod = inputs.MethodBuildArg
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
			for _, st := range p.Steps {
				if st.Path != "" {
					writeStep(&b, st)
				}
			}
			checkGolden(t, tt.name, b.String())
			if strings.Contains(b.String(), "s3cr3t") {
				t.Errorf("a secret value is on the command line")
			}
			for _, ts := range p.TempSecrets {
				if count(build(t, p), "--secret", "id="+ts.ID+",src="+ts.Path) != 1 {
					t.Errorf("temp secret %s not passed as a file: %q", ts.ID, build(t, p))
				}
			}
			kinds := []Kind{Verify}
			if p.ByDigest {
				kinds = []Kind{Verify, Tag}
			}
			if tail := p.Steps[len(p.Steps)-len(kinds):]; tail[0].Kind != kinds[0] || tail[len(tail)-1].Kind != kinds[len(kinds)-1] {
				t.Errorf("plan does not end with %v: %+v", kinds, tail)
			}
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
	t.Parallel()
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
						es = []buildflags.CacheEntry{{Type: "inline"}} // as inputs normalises it
					}
					s.CacheTo = append(s.CacheTo, es...)
				}
				p, err := New(s, docker, "/tmp")
				if err != nil {
					t.Fatalf("%s %q %q: %v", m, ua, ut, err)
				}
				arg := countPrefix(build(t, p), "--build-arg", "BUILDKIT_INLINE_CACHE")
				to := count(build(t, p), "--cache-to", "type=inline")
				if arg+to != 1 {
					t.Errorf("%s args=%q to=%q: %d build-arg and %d cache-to inline mechanisms, want exactly one:\n%q", m, ua, ut, arg, to, build(t, p))
				}
				if arg == 1 && count(build(t, p), "--build-arg", "BUILDKIT_INLINE_CACHE=1") != 1 {
					t.Errorf("%s: build-arg not normalised to =1: %q", m, build(t, p))
				}
				switch {
				case m == inputs.MethodCacheTo && to != 1, m == inputs.MethodBuildArg && arg != 1:
					t.Errorf("method %s not honoured: %q", m, build(t, p))
				case m == inputs.MethodAuto && len(ua) > 0 && !hasInline(ut) && arg != 1:
					t.Errorf("auto ignored the user's build-arg: %q", build(t, p))
				}
				if p.CacheMethod == inputs.MethodAuto {
					t.Errorf("auto was not resolved")
				}
				if count(build(t, p), "--build-arg", "X=1") != 1 {
					t.Errorf("unrelated build-arg lost: %q", build(t, p))
				}
				if strings.Contains(strings.Join(ut, ""), "mode=max") && count(build(t, p), "--cache-to", "type=registry,ref=r.example/c:1,mode=max") != 1 {
					t.Errorf("unrelated cache-to lost: %q", build(t, p))
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
	t.Parallel()
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
		if n := count(build(t, p), "--cache-from", want); n != 1 {
			t.Errorf("--cache-from %s appears %d times, want once: %q", want, n, build(t, p))
		}
	}

	s.Push = false
	p, err = New(s, docker, "/tmp")
	if err != nil {
		t.Fatal(err)
	}
	if n := count(build(t, p), "--cache-from", "type=registry,ref=r.example/a:2"); n != 0 {
		t.Errorf("unpushed tag used as cache source: %q", build(t, p))
	}
}

func TestModeMaxNote(t *testing.T) {
	t.Parallel()
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

// tag-after-verify: which builds push by digest and tag after
// verification, and what is said when they cannot.
func TestTagAfterVerify(t *testing.T) {
	t.Parallel()
	cmd := []string{"/usr/bin/docker", "buildx"}
	remote := BuildxBackend(cmd, "ci", "remote", map[Capability]bool{MultiPlatform: true, CacheExport: true, Attestations: true, PushByDigest: true})
	dockerDriver := BuildxBackend(cmd, "default", "docker", nil)
	push := func(mod func(*inputs.Settings)) inputs.Settings {
		s := inputs.Settings{Context: ".", Push: true, Verify: inputs.VerifyStrict, TagAfterVerify: inputs.TagAfterAuto,
			Tags: tags(t, "reg.example/one/app:main", "reg.example/two/app:main", "reg.example/one/app:v1")}
		if mod != nil {
			mod(&s)
		}
		return s
	}
	for _, tt := range []struct {
		name     string
		s        inputs.Settings
		b        Backend
		byDigest bool
		note     string // a substring of the one note expected, "" for none
	}{
		{"auto, strict, remote", push(nil), remote, true, ""},
		{"explicit true", push(func(s *inputs.Settings) { s.TagAfterVerify = inputs.TagAfterOn }), remote, true, ""},
		{"false", push(func(s *inputs.Settings) { s.TagAfterVerify = inputs.TagAfterOff }), remote, false, ""},
		{"auto, warn", push(func(s *inputs.Settings) { s.Verify = inputs.VerifyWarn }), remote, false, ""},
		{"true, warn", push(func(s *inputs.Settings) { s.Verify = inputs.VerifyWarn; s.TagAfterVerify = inputs.TagAfterOn }), remote, true, ""},
		{"auto, docker driver", push(nil), dockerDriver, false, `builder "default" (driver docker) cannot push by digest`},
		{"auto, docker build", push(nil), DockerBackend("/usr/bin/docker"), false, "docker build without it cannot push by digest"},
		{"load too", push(func(s *inputs.Settings) { s.Load = true }), remote, false, "load is also set"},
		{"image output", push(func(s *inputs.Settings) {
			o, err := buildflags.ParseOutput("type=image,name=reg.example/x,push=true")
			if err != nil {
				t.Fatal(err)
			}
			s.Outputs = []buildflags.Output{o}
		}), remote, false, "an image output is given"},
		{"no push", push(func(s *inputs.Settings) { s.Push = false }), remote, false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := New(tt.s, tt.b, "/tmp/ic")
			if err != nil {
				t.Fatal(err)
			}
			if p.ByDigest != tt.byDigest {
				t.Errorf("ByDigest = %v, want %v", p.ByDigest, tt.byDigest)
			}
			var notes []string
			for _, n := range p.Notes {
				if strings.HasPrefix(n, "tag-after-verify") {
					notes = append(notes, n)
				}
			}
			switch {
			case tt.note == "" && len(notes) > 0:
				t.Errorf("unexpected note %q", notes)
			case tt.note != "" && (len(notes) != 1 || !strings.Contains(notes[0], tt.note)):
				t.Errorf("notes %q, want one containing %q", notes, tt.note)
			}
			args := build(t, p)
			var kinds []Kind
			for _, st := range p.Steps {
				kinds = append(kinds, st.Kind)
			}
			if !tt.byDigest {
				if slices.Contains(kinds, Tag) || (tt.s.Push && tt.b.Can(Buildx) && !slices.Contains(args, "--push")) {
					t.Errorf("steps %v, args %q: want the tags pushed with the image", kinds, args)
				}
				return
			}
			want := `type=image,"name=reg.example/one/app,reg.example/two/app",push-by-digest=true,name-canonical=true,push=true`
			if count(args, "--output", want) != 1 || slices.Contains(args, "--push") || slices.Contains(args, "--tag") {
				t.Errorf("args %q: want one push-by-digest output to both repositories, no --push, no --tag", args)
			}
			// Cache is still imported from every tag: they hold the last verified images.
			if countPrefix(args, "--cache-from", "type=registry,ref=reg.example/") != 3 {
				t.Errorf("args %q: want a cache source per tag", args)
			}
			if !slices.Equal(kinds, []Kind{Build, Verify, Tag}) {
				t.Errorf("steps %v, want build, verify, tag", kinds)
			}
			if last := p.Steps[len(p.Steps)-1]; len(last.Tags) != 3 {
				t.Errorf("tag step tags %v", last.Tags)
			}
		})
	}

	// An explicit true on a backend that cannot push by digest is bad input.
	s := push(func(s *inputs.Settings) { s.TagAfterVerify = inputs.TagAfterOn })
	_, err := New(s, dockerDriver, "/tmp/ic")
	var ie *inputs.Error
	if !errors.As(err, &ie) || ie.Input != inputs.TagAfterVerifyIn || !strings.Contains(err.Error(), "cannot push an image by digest") {
		t.Errorf("docker driver with tag-after-verify true: %v", err)
	}
}
