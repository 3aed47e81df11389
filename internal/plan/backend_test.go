package plan

import (
	"errors"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/inputs"
)

func TestCheckBuildxDrivers(t *testing.T) {
	t.Parallel()
	cmd := []string{"/usr/bin/docker", "buildx"}
	dockerDriver := BuildxBackend(cmd, "default", "docker", nil)
	// The docker driver with the containerd image store.
	dockerContainerd := BuildxBackend(cmd, "default", "docker", map[Capability]bool{MultiPlatform: true, Attestations: true})
	remote := BuildxBackend(cmd, "ci", "remote", map[Capability]bool{MultiPlatform: true, CacheExport: true, Attestations: true, PushByDigest: true})

	everything := func(s *inputs.Settings) {
		s.Platforms = []string{"linux/amd64", "linux/386"}
		s.CacheTo = entries(t, "type=inline", "type=registry,ref=r.example/c:1,mode=max")
		s.Provenance = "mode=max"
	}
	tests := []struct {
		name    string
		backend Backend
		mod     func(*inputs.Settings)
		inputs  []string // inputs named by the refusal, in order
	}{
		{"docker: inline alone", dockerDriver, func(s *inputs.Settings) {
			s.Platforms = []string{"linux/amd64"}
			s.CacheTo = entries(t, "type=inline")
			s.Provenance = "false"
			s.Load = true
		}, nil},
		{"docker: everything refused", dockerDriver, everything, []string{inputs.Platforms, inputs.CacheTo, inputs.Provenance}},
		{"docker with containerd store", dockerContainerd, everything, []string{inputs.CacheTo}},
		{"docker: sbom, attests, oci output", dockerDriver, func(s *inputs.Settings) {
			s.SBOM = "true"
			s.Attests = attestsOf(t, "type=provenance,mode=max")
			s.Outputs = outputsOf(t, "type=oci,dest=out.tar", "type=local,dest=out")
		}, []string{inputs.SBOM, inputs.Attests, inputs.Outputs}},
		{"docker: attestations turned off", dockerDriver, func(s *inputs.Settings) {
			s.SBOM = "false"
			s.Provenance = "false"
			s.Attests = attestsOf(t, "type=sbom,disabled=true", "TYPE=provenance,DISABLED=true")
		}, nil},
		{"remote: everything allowed", remote, everything, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto}
			tt.mod(&s)
			err := Check(s, tt.backend)
			var got []string
			for _, e := range flat(err) {
				var ie *inputs.Error
				if !errors.As(e, &ie) {
					t.Fatalf("refusal %v does not name an input", e)
				}
				if !strings.Contains(ie.Msg, tt.backend.Where) || !strings.HasSuffix(ie.Msg, "use a docker-container or remote builder") {
					t.Errorf("refusal does not name the builder and what to use instead: %s", ie.Msg)
				}
				got = append(got, ie.Input)
			}
			if strings.Join(got, ",") != strings.Join(tt.inputs, ",") {
				t.Errorf("refused inputs %q, want %q (%v)", got, tt.inputs, err)
			}
			if _, perr := New(s, tt.backend, "/tmp"); (perr == nil) != (err == nil) {
				t.Errorf("New and Check disagree: %v / %v", perr, err)
			}
		})
	}
}

// Without buildx, what docker build cannot do is refused by the same check.
func TestCheckDockerBuild(t *testing.T) {
	t.Parallel()
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
		{"outputs", func(s *inputs.Settings) { s.Outputs = outputsOf(t, "type=local,dest=out") }, inputs.Outputs},
		{"sbom", func(s *inputs.Settings) { s.SBOM = "true" }, inputs.SBOM},
		{"attests", func(s *inputs.Settings) { s.Attests = attestsOf(t, "type=sbom") }, inputs.Attests},
		{"call", func(s *inputs.Settings) { s.Call = "check" }, inputs.Call},
		{"build contexts", func(s *inputs.Settings) { s.BuildContexts = []string{"src=../src"} }, inputs.BuildContexts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, Tags: tags(t, "r.example/a:1"), Push: true}
			tt.mod(&s)
			_, err := New(s, legacy, "/tmp")
			errs := flat(err)
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want one", err)
			}
			var ie *inputs.Error
			if !errors.As(errs[0], &ie) || ie.Input != tt.input || !strings.HasPrefix(ie.Msg, "buildx is not installed") {
				t.Errorf("error = %v, want one naming input %q and saying buildx is missing", errs[0], tt.input)
			}
		})
	}
}

func flat(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flat(e)...)
		}
		return out
	}
	return []error{err}
}
