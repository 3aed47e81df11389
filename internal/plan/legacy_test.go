package plan

import (
	"errors"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/inputs"
)

func writeStep(b *strings.Builder, st Step) {
	for _, e := range st.Env {
		b.WriteString(e + " ")
	}
	b.WriteString(st.Path + "\n")
	for _, a := range st.Args {
		b.WriteString("  " + a + "\n")
	}
}

// TestLegacyGolden checks the docker build and push commands used when
// there is no buildx.
func TestLegacyGolden(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*inputs.Settings)
	}{
		{"legacy-push", func(s *inputs.Settings) {
			s.Tags = tags(t, "registry.gitlab.example/acme/app:main", "registry.gitlab.example/acme/app:sha-123")
			s.Push = true
		}},
		{"legacy-every-input", func(s *inputs.Settings) {
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
		{"legacy-drop-in", func(s *inputs.Settings) {
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
		{"legacy-load", func(s *inputs.Settings) {
			s.Tags = tags(t, "app:dev")
			s.Load = true
			s.CacheMethod = inputs.MethodBuildArg
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, Verify: inputs.VerifyStrict}
			tt.mod(&s)
			l, err := NewLegacy(s, "/usr/bin/docker", "/tmp/ic")
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			b.WriteString("# cache-method: " + string(l.CacheMethod) + "\n")
			for _, n := range l.Notes {
				b.WriteString("# note: " + n + "\n")
			}
			writeStep(&b, l.Build)
			for _, p := range l.Pushes {
				writeStep(&b, p)
			}
			checkGolden(t, tt.name, b.String())
			if strings.Contains(b.String(), "s3cr3t") {
				t.Errorf("a secret value is on the command line")
			}
			for _, ts := range l.TempSecrets {
				if count(l.Build.Args, "--secret", "id="+ts.ID+",src="+ts.Path) != 1 {
					t.Errorf("temp secret %s not passed as a file: %q", ts.ID, l.Build.Args)
				}
			}
			if l.IIDFile != "/tmp/ic/iid" || count(l.Build.Args, "--iidfile", l.IIDFile) != 1 {
				t.Errorf("iidfile %q not passed: %q", l.IIDFile, l.Build.Args)
			}
		})
	}
}

func TestLegacyRefusals(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*inputs.Settings)
		input string
	}{
		{"cache-method cache-to", func(s *inputs.Settings) { s.CacheMethod = inputs.MethodCacheTo }, inputs.CacheMethodInput},
		{"registry cache export", func(s *inputs.Settings) { s.CacheTo = entries(t, "type=registry,ref=r.example/c:1,mode=max") }, inputs.CacheTo},
		{"local cache import", func(s *inputs.Settings) { s.CacheFrom = entries(t, "type=local,src=/c") }, inputs.CacheFrom},
		{"two platforms", func(s *inputs.Settings) { s.Platforms = []string{"linux/amd64", "linux/386"} }, inputs.Platforms},
		{"provenance", func(s *inputs.Settings) { s.Provenance = "mode=max" }, inputs.Provenance},
		{"builder", func(s *inputs.Settings) { s.Builder = "ci" }, inputs.Builder},
		{"secret from env", func(s *inputs.Settings) { s.SecretEnvs = []inputs.SecretEnv{{ID: "t", Env: "TOKEN"}} }, inputs.SecretEnvs},
		{"outputs", func(s *inputs.Settings) { s.Outputs = []string{"type=local,dest=out"} }, inputs.Outputs},
		{"sbom", func(s *inputs.Settings) { s.SBOM = "true" }, inputs.SBOM},
		{"attests", func(s *inputs.Settings) { s.Attests = []string{"type=sbom"} }, inputs.Attests},
		{"call", func(s *inputs.Settings) { s.Call = "check" }, inputs.Call},
		{"build contexts", func(s *inputs.Settings) { s.BuildContexts = []string{"src=../src"} }, inputs.BuildContexts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, Tags: tags(t, "r.example/a:1"), Push: true}
			tt.mod(&s)
			_, err := NewLegacy(s, "/usr/bin/docker", "/tmp")
			errs := flat(err)
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want one", err)
			}
			var ie *inputs.Error
			if !errors.As(errs[0], &ie) || ie.Input != tt.input || !strings.Contains(ie.Msg, "buildx is not installed") {
				t.Errorf("error = %v, want one naming input %q and saying buildx is missing", errs[0], tt.input)
			}
		})
	}
}
