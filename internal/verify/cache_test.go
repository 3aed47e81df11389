package verify_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	staticlayer "github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/inlinecache/action/internal/cachemeta"
	"github.com/inlinecache/action/internal/fixtures"
	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/verify"
)

// registryCache is the captured type=registry cache of a real BuildKit
// build, its layer blobs (never captured) replaced by random blobs of the
// same sizes, so that a test registry can hold them; the config is the
// captured one with the digests swapped.
type registryCache struct {
	manifest v1.Manifest
	config   []byte
	blobs    map[string][]byte // by digest
}

func loadRegistryCache(t *testing.T) *registryCache {
	t.Helper()
	f, err := fixtures.Load(filepath.Join("..", "..", "testdata", "cachemeta", "buildkit-v0.34.2", "registry-cache"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(f.Top))
	if err != nil {
		t.Fatal(err)
	}
	cfg, ok := f.Configs[m.Config.Digest.Hex]
	if !ok || string(m.Config.MediaType) != cachemeta.RegistryCacheConfigMediaType {
		t.Fatalf("fixture registry-cache has no cache config %s (%s)", m.Config.Digest, m.Config.MediaType)
	}
	rc := &registryCache{blobs: map[string][]byte{}}
	text := string(cfg)
	for i, l := range m.Layers {
		blob := make([]byte, l.Size)
		if _, err := rand.Read(blob); err != nil {
			t.Fatal(err)
		}
		h, _, err := v1.SHA256(bytes.NewReader(blob))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, l.Digest.String()) {
			t.Fatalf("the fixture's config does not reference its layer %s", l.Digest)
		}
		text = strings.ReplaceAll(text, l.Digest.String(), h.String())
		m.Layers[i].Digest = h
		rc.blobs[h.String()] = blob
	}
	rc.manifest, rc.config = *m, []byte(text)
	return rc
}

// editConfig decodes the config, lets edit change it and encodes it again.
func (rc *registryCache) editConfig(t *testing.T, edit func(*cachemeta.CacheConfig)) {
	t.Helper()
	var c cachemeta.CacheConfig
	if err := json.Unmarshal(rc.config, &c); err != nil {
		t.Fatal(err)
	}
	edit(&c)
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	rc.config = raw
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// push writes the cache to repo in the given form, leaving out the layer
// blobs named in skip (and the config if skip says "config"), and returns
// its ref by digest.
func (rc *registryCache) push(t *testing.T, repo, form string, skip ...string) string {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range rc.manifest.Layers {
		if slices.Contains(skip, l.Digest.String()) {
			continue
		}
		if err := remote.WriteLayer(r, staticlayer.NewLayer(rc.blobs[l.Digest.String()], l.MediaType)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := staticlayer.NewLayer(rc.config, cachemeta.RegistryCacheConfigMediaType)
	if !slices.Contains(skip, "config") {
		if err := remote.WriteLayer(r, cfg); err != nil {
			t.Fatal(err)
		}
	}
	h, _ := cfg.Digest()
	m := rc.manifest
	m.Config.Digest, m.Config.Size = h, int64(len(rc.config))
	var doc any = m
	mt := types.OCIManifestSchema1
	if form == verify.CacheFormIndex {
		mt = types.OCIImageIndex
		doc = v1.IndexManifest{SchemaVersion: 2, MediaType: mt, Manifests: append(slices.Clone(m.Layers), m.Config)}
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	d, _, _ := v1.SHA256(bytes.NewReader(raw))
	ref := r.Digest(d.String())
	if err := remote.Put(ref, rawManifest{raw, mt}); err != nil {
		t.Fatal(err)
	}
	return ref.String()
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
			for _, l := range rc.manifest.Layers {
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
	reg := registrytest.Serve(t)
	tests := []struct {
		name string
		// make pushes a broken cache and returns its ref and the
		// failure it must report (after "registry cache <ref>: ").
		make func(t *testing.T, rc *registryCache, repo string) (ref, says string)
	}{
		{"missing layer blob", func(t *testing.T, rc *registryCache, repo string) (string, string) {
			gone := rc.manifest.Layers[2].Digest.String()
			return rc.push(t, repo, verify.CacheFormImageManifest, gone),
				fmt.Sprintf("layer blob %s is listed in the cache manifest but not in the registry (registry %s, repository %s): 404 Not Found", gone, reg, "missing-layer-blob")
		}},
		{"missing layer blob, index form", func(t *testing.T, rc *registryCache, repo string) (string, string) {
			gone := rc.manifest.Layers[0].Digest.String()
			return rc.push(t, repo, verify.CacheFormIndex, gone),
				fmt.Sprintf("layer blob %s is listed in the cache manifest but not in the registry (registry %s, repository %s): 404 Not Found", gone, reg, "missing-layer-blob-index-form")
		}},
		{"config blob missing", func(t *testing.T, rc *registryCache, repo string) (string, string) {
			h, _, _ := v1.SHA256(bytes.NewReader(rc.config))
			return rc.push(t, repo, verify.CacheFormIndex, "config"),
				fmt.Sprintf("cannot read cache config %s (registry %s, repository %s): registry %s: reading blob %s@%s: 404 Not Found", h, reg, "config-blob-missing", reg, "config-blob-missing", h)
		}},
		{"config does not decode", func(t *testing.T, rc *registryCache, repo string) (string, string) {
			rc.config = []byte(`{"layers": "not a list"}`)
			h, _, _ := v1.SHA256(bytes.NewReader(rc.config))
			return rc.push(t, repo, verify.CacheFormImageManifest),
				fmt.Sprintf("cache config %s (registry %s, repository %s): cache config is not a JSON BuildKit cache config: ", h, reg, "config-does-not-decode")
		}},
		{"record links to a missing record", func(t *testing.T, rc *registryCache, repo string) (string, string) {
			rc.editConfig(t, func(c *cachemeta.CacheConfig) { c.Records[0].Inputs[0][0].LinkIndex = 99 })
			return rc.push(t, repo, verify.CacheFormImageManifest), "record 0: input link 99 is out of range (the cache has 8 records)"
		}},
		{"result layer index out of range", func(t *testing.T, rc *registryCache, repo string) (string, string) {
			rc.editConfig(t, func(c *cachemeta.CacheConfig) { c.Records[1].Results[0].LayerIndex = 6 })
			return rc.push(t, repo, verify.CacheFormIndex), "record 1: result layer index 6 is out of range (the cache config has 6 layers)"
		}},
		{"manifest lists fewer layers than the config references", func(t *testing.T, rc *registryCache, repo string) (string, string) {
			var c cachemeta.CacheConfig
			if err := json.Unmarshal(rc.config, &c); err != nil {
				t.Fatal(err)
			}
			dropped := rc.manifest.Layers[3].Digest.String()
			i := slices.IndexFunc(c.Layers, func(l cachemeta.CacheLayer) bool { return l.Blob.String() == dropped })
			rc.manifest.Layers = slices.Delete(rc.manifest.Layers, 3, 4)
			return rc.push(t, repo, verify.CacheFormImageManifest),
				fmt.Sprintf("layer %d (blob %s) is not listed in the cache manifest: BuildKit drops every result that needs it", i, dropped)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo := strings.ReplaceAll(strings.ReplaceAll(tt.name, " ", "-"), ",", "")
			ref, says := tt.make(t, loadRegistryCache(t), reg+"/"+repo)
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
	ref := rc.push(t, reg+"/app", verify.CacheFormIndex, rc.manifest.Layers[1].Digest.String(), rc.manifest.Layers[4].Digest.String())
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
