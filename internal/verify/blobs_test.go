package verify_test

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/verify"
)

// Blobs lists an index's platform images' configs and layers, and what
// one image keeps beyond another is the size of the blobs it does not
// share.
func TestBlobs(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	base := registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)
	stage := registrytest.Image(t, "linux/amd64", 1, registrytest.Valid)
	layers, err := stage.Layers()
	if err != nil {
		t.Fatal(err)
	}
	// The stage image shares base's layers and adds one.
	baseLayers, err := base.Layers()
	if err != nil {
		t.Fatal(err)
	}
	withBase, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		t.Fatal(err)
	}
	imageRef := registrytest.PushIndex(t, reg+"/app:main", base, registrytest.Image(t, "linux/arm64", 1, registrytest.Valid))
	stageRef := registrytest.Push(t, reg+"/app:main-stage-build", withBase)
	v := verify.New(verify.WithKeychain(authn.NewMultiKeychain()))
	img, err := v.Blobs(context.Background(), imageRef)
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Configs) != 2 || len(img.Layers) != 3 {
		t.Errorf("image blobs: %d configs, %d layers; want 2 and 3 (two platforms)", len(img.Configs), len(img.Layers))
	}
	st, err := v.Blobs(context.Background(), stageRef)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range baseLayers {
		d, _ := l.Digest()
		if _, ok := st.Layers[d.String()]; !ok {
			t.Errorf("stage blobs lack the shared layer %s", d)
		}
	}
	cfg, err := withBase.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	extra, err := layers[0].Size()
	if err != nil {
		t.Fatal(err)
	}
	if want := extra + st.Configs[cfg.String()]; st.Beyond(img) != want {
		t.Errorf("beyond the image = %d, want %d (its own layer and config)", st.Beyond(img), want)
	}
	if _, err := v.Blobs(context.Background(), reg+"/app:missing"); err == nil {
		t.Error("no error for a missing tag")
	}
}
