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
		map[Capability]bool{MultiPlatform: true, CacheExport: true, Attestations: true})
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
		`use a docker-container builder (docker/setup-buildx-action) or turn on the engine's containerd image store ("features": {"containerd-snapshotter": true} in daemon.json)`,
		// The store is no remedy for push by digest.
		`input "tag-after-verify": builder "default" (driver docker, engine 28.5.2, classic image store) cannot push an image by digest, so tags would move before verification: set tag-after-verify to false (or auto) to push the tags with the image, or buildx's docker driver pushes by digest on no image store; use a docker-container builder (docker/setup-buildx-action)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal lacks %q:\n%v", want, err)
		}
	}
	// The containerd store takes the platforms and the registry cache.
	err = Check(s, ctrd)
	if err == nil || strings.Contains(err.Error(), `input "platforms"`) || strings.Contains(err.Error(), `input "cache-stages"`) ||
		!strings.Contains(err.Error(), `input "tag-after-verify": builder "default" (driver docker, engine 28.5.2, containerd image store) cannot push an image by digest`) {
		t.Errorf("containerd store: %v, want tag-after-verify refused alone", err)
	}
	if strings.Contains(ctrd.Remedy, "containerd image store") {
		t.Errorf("the containerd store's remedy is to turn it on: %s", ctrd.Remedy)
	}
	if !strings.Contains(unknown.Where, "engine of unknown version, image store unknown") {
		t.Errorf("unknown engine: %s", unknown.Where)
	}

	auto := s
	auto.TagAfterVerify, auto.Verify, auto.CacheStages, auto.Platforms = inputs.TagAfterAuto, inputs.VerifyStrict, "", nil
	for _, b := range []Backend{classic, ctrd} {
		if on, note := byDigest(derive(auto), b); on || !strings.Contains(note, b.Where+" cannot push by digest (buildx's docker driver pushes by digest on no image store") {
			t.Errorf("tag-after-verify auto on %s: by digest %v, note %q", b.Where, on, note)
		}
	}
}
