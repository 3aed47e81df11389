package plan

import (
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/inputs"
)

// A docker-driver builder's refusals and fallbacks name the engine's
// version and image store, and the remedy that fits the store.
func TestDockerDriverBackend(t *testing.T) {
	t.Parallel()
	cmd := []string{"/usr/libexec/docker/cli-plugins/docker-buildx"}
	classic := DockerDriverBackend(cmd, "default", Engine{Version: "28.5.2", Store: "classic image store"}, nil)
	ctrd := DockerDriverBackend(cmd, "default", Engine{Version: "28.5.2", Store: "containerd image store", Containerd: true},
		map[Capability]bool{MultiPlatform: true, CacheExport: true, Attestations: true, PushByDigest: true})
	unknown := DockerDriverBackend(cmd, "default", Engine{}, nil)
	s := inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, Push: true, Tags: tags(t, "r.example/app:main"),
		TagAfterVerify: inputs.TagAfterOn, Platforms: []string{"linux/amd64", "linux/386"}}
	s.CacheStages = inputs.StagesRegistry

	err := Check(s, classic)
	if err == nil {
		t.Fatal("the classic store took tag-after-verify, a registry stage cache and two platforms")
	}
	for _, want := range []string{
		`input "platforms": builder "default" (driver docker, engine 28.5.2, classic image store) cannot build several platforms`,
		`input "cache-stages": builder "default" (driver docker, engine 28.5.2, classic image store) cannot export a registry cache`,
		`input "tag-after-verify": builder "default" (driver docker, engine 28.5.2, classic image store) cannot push an image by digest`,
		`use a docker-container builder (docker/setup-buildx-action) or turn on the engine's containerd image store ("features": {"containerd-snapshotter": true} in daemon.json)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal lacks %q:\n%v", want, err)
		}
	}
	if err := Check(s, ctrd); err != nil {
		t.Errorf("the containerd store refused: %v", err)
	}
	if strings.Contains(ctrd.Remedy, "containerd image store") {
		t.Errorf("the containerd store's remedy is to turn it on: %s", ctrd.Remedy)
	}
	if !strings.Contains(unknown.Where, "engine of unknown version, image store unknown") {
		t.Errorf("unknown engine: %s", unknown.Where)
	}

	auto := s
	auto.TagAfterVerify, auto.Verify, auto.CacheStages, auto.Platforms = inputs.TagAfterAuto, inputs.VerifyStrict, "", nil
	if on, note := byDigest(auto, classic); on || !strings.Contains(note, "engine 28.5.2, classic image store) cannot push by digest") {
		t.Errorf("classic store, tag-after-verify auto: by digest %v, note %q", on, note)
	}
	if on, note := byDigest(auto, ctrd); !on || note != "" {
		t.Errorf("containerd store, tag-after-verify auto: by digest %v, note %q", on, note)
	}
}
