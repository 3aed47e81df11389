package verify_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/verify"
)

// snapshotImage is a snapshot image with layers and the mounts label
// (none when label is "").
func snapshotImage(t *testing.T, layers int, label string) v1.Image {
	t.Helper()
	img, err := random.Image(64, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	if label != "" {
		cfg.Config.Labels = map[string]string{verify.MountsLabel: label}
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// deleteBlob removes one layer blob from the in-memory registry.
func deleteBlob(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	d := registrytest.FirstLayer(t, img)
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodDelete, "http://"+r.Context().RegistryStr()+"/v2/"+r.Context().RepositoryStr()+"/blobs/"+d.String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("delete blob: %s", resp.Status)
	}
}

// A snapshot is usable when it is one image whose config lists its mounts
// and whose every layer the registry has; each other case is an error that
// names what is wrong, and a missing tag is ErrNoSnapshot.
func TestSnapshot(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	const label = `[{"dir":"m-1","key":"//root/.cache/go-build","id":"/root/.cache/go-build","target":"/root/.cache/go-build"}]`
	v := verify.New(verify.WithKeychain(authn.NewMultiKeychain()))
	ctx := context.Background()

	good := snapshotImage(t, 2, label)
	registrytest.Push(t, reg+"/app:main-mounts", good)
	s, err := v.Snapshot(ctx, reg+"/app:main-mounts")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := good.Digest()
	if s.Digest != want.String() || len(s.Layers) != 2 || len(s.Mounts) != 1 || s.Mounts[0].Key != "//root/.cache/go-build" || s.Dirs()[0] != "m-1" || s.Bytes() <= 0 {
		t.Errorf("snapshot = %+v", s)
	}

	if _, err := v.Snapshot(ctx, reg+"/app:none-mounts"); !errors.Is(err, verify.ErrNoSnapshot) {
		t.Errorf("missing tag: %v, want ErrNoSnapshot", err)
	}

	missing := snapshotImage(t, 2, label)
	registrytest.Push(t, reg+"/gone:main-mounts", missing)
	deleteBlob(t, reg+"/gone:main-mounts", missing)
	for _, tc := range []struct {
		name, ref string
		push      func(ref string)
		says      string
	}{
		{"no label", reg + "/app:nolabel-mounts", func(ref string) { registrytest.Push(t, ref, snapshotImage(t, 1, "")) }, "has no io.inlinecache.mounts label"},
		{"bad label", reg + "/app:bad-mounts", func(ref string) { registrytest.Push(t, ref, snapshotImage(t, 1, "{")) }, "label is not a list of mounts"},
		{"label without key", reg + "/app:nokey-mounts", func(ref string) { registrytest.Push(t, ref, snapshotImage(t, 1, `[{"dir":"m-1"}]`)) }, "lists a mount without dir or key"},
		{"an index", reg + "/app:index-mounts", func(ref string) {
			registrytest.PushIndex(t, ref, registrytest.Image(t, "linux/amd64", 1, registrytest.Valid))
		}, "not an image manifest"},
		{"missing layer", reg + "/gone:main-mounts", func(string) {}, "not in the registry"},
	} {
		tc.push(tc.ref)
		_, err := v.Snapshot(ctx, tc.ref)
		var se *verify.SnapshotError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want a SnapshotError saying %q", tc.name, err, tc.says)
		}
	}
}
