package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/inlinecache/action/internal/cachemeta"
	"github.com/inlinecache/action/internal/fixtures"
	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/verify"
)

// registryCache is the captured type=registry cache of a real BuildKit
// build, made whole (fixtures.RegistryCache), for tests to break.
type registryCache struct{ *fixtures.RegistryCache }

func loadRegistryCache(t *testing.T) registryCache {
	t.Helper()
	rc, err := fixtures.LoadRegistryCache(filepath.Join("..", "..", "testdata", "cachemeta", "buildkit-v0.34.2", "registry-cache"))
	if err != nil {
		t.Fatal(err)
	}
	return registryCache{rc}
}

// editConfig decodes the config, lets edit change it and encodes it again.
func (rc registryCache) editConfig(t *testing.T, edit func(*cachemeta.CacheConfig)) {
	t.Helper()
	var c cachemeta.CacheConfig
	if err := json.Unmarshal(rc.Config, &c); err != nil {
		t.Fatal(err)
	}
	edit(&c)
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	rc.Config = raw
}

// push writes the cache to repo in the given form, leaving out the blobs
// skip names, and returns its ref by digest.
func (rc registryCache) push(t *testing.T, repo, form string, skip ...string) string {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := rc.Push(context.Background(), r, form == verify.CacheFormIndex, skip)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestRegistryCacheValid(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	for _, form := range []string{verify.CacheFormImageManifest, verify.CacheFormIndex} {
		t.Run(form, func(t *testing.T) {
			t.Parallel()
			rc := loadRegistryCache(t)
			ref := rc.push(t, reg+"/app", form)
			rep, err := newVerifier().Verify(context.Background(), ref)
			if err != nil {
				t.Fatal(err)
			}
			c := rep.Cache
			if !rep.Verified() || !rep.RegistryCache || c == nil || len(rep.Failures()) != 0 {
				t.Fatalf("report = %+v, cache %+v, failures %q", rep, c, rep.Failures())
			}
			var listed []string
			for _, l := range rc.Manifest.Layers {
				listed = append(listed, l.Digest.String())
			}
			// The capture has 6 layers and 8 records, 6 with a result
			// (testdata/app: FROM busybox and its steps, mode=max).
			if c.Form != form || c.Digest != rep.Digest || !strings.HasSuffix(ref, c.Digest) || c.Records != 8 || c.RecordsWithLayers != 6 ||
				c.ConfigLayers != 6 || c.LayersListed != 6 || c.LayersFound != 6 || !slices.Equal(c.Layers, listed) || !strings.HasPrefix(c.Config, "sha256:") {
				t.Errorf("cache = %+v", c)
			}
			if !strings.Contains(rep.Explanation, "--cache-from type=registry,ref=") || strings.Contains(rep.Explanation, "verify that image instead") {
				t.Errorf("explanation = %q", rep.Explanation)
			}
		})
	}
}

func TestRegistryCacheInvalid(t *testing.T) {
	t.Parallel()
	// REGISTRY in a message stands for the case's registry: each case has
	// its own, as the in-memory registry keeps blobs across repositories.
	const reg = "REGISTRY"
	tests := []struct {
		name string
		// make pushes a broken cache and returns its ref and the
		// failure it must report (after "registry cache <ref>: ").
		make func(t *testing.T, rc registryCache, repo string) (ref, says string)
	}{
		{"missing layer blob", func(t *testing.T, rc registryCache, repo string) (string, string) {
			gone := rc.Manifest.Layers[2].Digest.String()
			return rc.push(t, repo, verify.CacheFormImageManifest, gone),
				fmt.Sprintf("layer blob %s is listed in the cache manifest but not in the registry (registry %s, repository %s): 404 Not Found", gone, reg, "missing-layer-blob")
		}},
		{"missing layer blob, index form", func(t *testing.T, rc registryCache, repo string) (string, string) {
			gone := rc.Manifest.Layers[0].Digest.String()
			return rc.push(t, repo, verify.CacheFormIndex, gone),
				fmt.Sprintf("layer blob %s is listed in the cache manifest but not in the registry (registry %s, repository %s): 404 Not Found", gone, reg, "missing-layer-blob-index-form")
		}},
		{"config blob missing", func(t *testing.T, rc registryCache, repo string) (string, string) {
			h, _, _ := v1.SHA256(bytes.NewReader(rc.Config))
			return rc.push(t, repo, verify.CacheFormIndex, "config"),
				fmt.Sprintf("cannot read cache config %s (registry %s, repository %s): registry %s: reading blob %s@%s: 404 Not Found", h, reg, "config-blob-missing", reg, "config-blob-missing", h)
		}},
		{"config does not decode", func(t *testing.T, rc registryCache, repo string) (string, string) {
			rc.Config = []byte(`{"layers": "not a list"}`)
			h, _, _ := v1.SHA256(bytes.NewReader(rc.Config))
			return rc.push(t, repo, verify.CacheFormImageManifest),
				fmt.Sprintf("cache config %s (registry %s, repository %s): cache config is not a JSON BuildKit cache config: ", h, reg, "config-does-not-decode")
		}},
		{"record links to a missing record", func(t *testing.T, rc registryCache, repo string) (string, string) {
			rc.editConfig(t, func(c *cachemeta.CacheConfig) { c.Records[0].Inputs[0][0].LinkIndex = 99 })
			return rc.push(t, repo, verify.CacheFormImageManifest), "record 0: input link 99 is out of range (the cache has 8 records)"
		}},
		{"result layer index out of range", func(t *testing.T, rc registryCache, repo string) (string, string) {
			rc.editConfig(t, func(c *cachemeta.CacheConfig) { c.Records[1].Results[0].LayerIndex = 6 })
			return rc.push(t, repo, verify.CacheFormIndex), "record 1: result layer index 6 is out of range (the cache config has 6 layers)"
		}},
		{"manifest lists fewer layers than the config references", func(t *testing.T, rc registryCache, repo string) (string, string) {
			var c cachemeta.CacheConfig
			if err := json.Unmarshal(rc.Config, &c); err != nil {
				t.Fatal(err)
			}
			dropped := rc.Manifest.Layers[3].Digest.String()
			i := slices.IndexFunc(c.Layers, func(l cachemeta.CacheLayer) bool { return l.Blob.String() == dropped })
			rc.Manifest.Layers = slices.Delete(rc.Manifest.Layers, 3, 4)
			return rc.push(t, repo, verify.CacheFormImageManifest),
				fmt.Sprintf("layer %d (blob %s) is not listed in the cache manifest: BuildKit drops every result that needs it", i, dropped)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			host := registrytest.Serve(t)
			repo := strings.ReplaceAll(strings.ReplaceAll(tt.name, " ", "-"), ",", "")
			ref, says := tt.make(t, loadRegistryCache(t), host+"/"+repo)
			says = strings.ReplaceAll(says, reg, host)
			rep, err := newVerifier().Verify(context.Background(), ref)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verified() || rep.Cache == nil || rep.Cache.Verified {
				t.Fatalf("broken cache verified: %+v", rep.Cache)
			}
			want := "registry cache " + ref + ": " + says
			f := rep.Failures()
			if !slices.ContainsFunc(f, func(s string) bool { return strings.HasPrefix(s, want) }) {
				t.Errorf("failures = %q\nwant one starting %q", f, want)
			}
		})
	}
}

// The numbers of a cache with a missing blob say what was found.
func TestRegistryCacheCountsMissingBlobs(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	rc := loadRegistryCache(t)
	ref := rc.push(t, reg+"/app", verify.CacheFormIndex, rc.Manifest.Layers[1].Digest.String(), rc.Manifest.Layers[4].Digest.String())
	rep, err := newVerifier().Verify(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Cache; c == nil || c.LayersListed != 6 || c.LayersFound != 4 || len(c.Problems) != 2 || c.Error != "" {
		t.Errorf("cache = %+v", c)
	}
}

// A platform image's layers are in its report, to compare with a cache's.
func TestPlatformLayerDigests(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	img := registrytest.Image(t, "linux/amd64", 3, registrytest.Valid)
	ref := registrytest.Push(t, reg+"/app:1", img)
	rep, err := newVerifier().Verify(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range m.Layers {
		want = append(want, l.Digest.String())
	}
	if len(rep.Platforms) != 1 || !slices.Equal(rep.Platforms[0].LayerDigests, want) {
		t.Errorf("platforms = %+v, want layers %q", rep.Platforms, want)
	}
}
