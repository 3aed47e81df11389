package plan

import (
	"errors"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/inputs"
)

func TestCheckDriver(t *testing.T) {
	dockerDriver := Driver{Builder: "default", Name: "docker", Features: map[string]bool{
		FeatureMultiPlatform: false, FeatureCacheExport: false, FeatureOCIExporter: false,
	}}
	// An old buildx prints no features: the driver name decides.
	dockerOld := Driver{Builder: "default", Name: "docker"}
	// The docker driver with the containerd image store.
	dockerContainerd := Driver{Builder: "default", Name: "docker", Features: map[string]bool{
		FeatureMultiPlatform: true, FeatureCacheExport: false, FeatureOCIExporter: true,
	}}
	remote := Driver{Builder: "ci", Name: "remote", Features: map[string]bool{
		FeatureMultiPlatform: true, FeatureCacheExport: true, FeatureOCIExporter: true,
	}}
	remoteOld := Driver{Builder: "ci", Name: "remote"}

	everything := func(s *inputs.Settings) {
		s.Platforms = []string{"linux/amd64", "linux/386"}
		s.CacheTo = entries(t, "type=inline", "type=registry,ref=r.example/c:1,mode=max")
		s.Provenance = "mode=max"
	}
	tests := []struct {
		name   string
		driver Driver
		mod    func(*inputs.Settings)
		inputs []string // inputs named by the refusal, in order
	}{
		{"docker: inline alone", dockerDriver, func(s *inputs.Settings) {
			s.Platforms = []string{"linux/amd64"}
			s.CacheTo = entries(t, "type=inline")
			s.Provenance = "false"
			s.Load = true
		}, nil},
		{"docker: everything refused", dockerDriver, everything, []string{inputs.Platforms, inputs.CacheTo, inputs.Provenance}},
		{"docker, old buildx: same refusals", dockerOld, everything, []string{inputs.Platforms, inputs.CacheTo, inputs.Provenance}},
		{"docker with containerd store", dockerContainerd, everything, []string{inputs.CacheTo}},
		{"docker: sbom, attests, oci output", dockerDriver, func(s *inputs.Settings) {
			s.SBOM = "true"
			s.Attests = []string{"type=provenance,mode=max"}
			s.Outputs = []string{"type=oci,dest=out.tar", "type=local,dest=out"}
		}, []string{inputs.SBOM, inputs.Attests, inputs.Outputs}},
		{"docker: attestations turned off", dockerDriver, func(s *inputs.Settings) {
			s.SBOM = "false"
			s.Provenance = "false"
			s.Attests = []string{"type=sbom,disabled=true"}
		}, nil},
		{"remote: everything allowed", remote, everything, nil},
		{"remote, old buildx", remoteOld, everything, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto}
			tt.mod(&s)
			err := CheckDriver(s, tt.driver)
			var got []string
			for _, e := range flat(err) {
				var ie *inputs.Error
				if !errors.As(e, &ie) {
					t.Fatalf("refusal %v does not name an input", e)
				}
				if !strings.Contains(ie.Msg, `builder "`+tt.driver.Builder+`" (driver `+tt.driver.Name+`)`) {
					t.Errorf("refusal does not name the builder: %s", ie.Msg)
				}
				got = append(got, ie.Input)
			}
			if strings.Join(got, ",") != strings.Join(tt.inputs, ",") {
				t.Errorf("refused inputs %q, want %q (%v)", got, tt.inputs, err)
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
