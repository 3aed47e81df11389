// Package registrytest serves go-containerregistry's in-memory registry on
// loopback and pushes images with or without inline cache to it, for tests.
package registrytest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	cachetypes "github.com/moby/buildkit/cache/remotecache/v1/types"
)

// Serve starts an in-memory registry on 127.0.0.1 and returns its host:port.
func Serve(t testing.TB) string {
	t.Helper()
	return ServeHandler(t, nil)
}

// ServeHandler serves the in-memory registry through wrap (a test's
// handler in front of it; nil: none) on 127.0.0.1 and returns its
// host:port. Every registry it serves is a new, empty one, unless wrap
// hands its requests to a registry of its own.
func ServeHandler(t testing.TB, wrap func(http.Handler) http.Handler, opts ...registry.Option) string {
	t.Helper()
	var h http.Handler = NewRegistry(opts...)
	if wrap != nil {
		h = wrap(h)
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// NewRegistry is go-containerregistry's in-memory registry, quiet, with
// opts (registry.WithReferrersSupport(true) for the referrers API).
func NewRegistry(opts ...registry.Option) http.Handler {
	return registry.New(append([]registry.Option{registry.Logger(log.New(discard{}, "", 0))}, opts...)...)
}

// Refusing serves next, but answers the requests refuse picks as a
// registry's policy does (immutable tags, no artifacts): 403 with a
// DENIED error saying message.
func Refusing(next http.Handler, refuse func(*http.Request) bool, message string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !refuse(r) {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"code": "DENIED", "message": message}}}) // maps of strings always marshal
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write(body)
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Cache says what inline cache an image config carries.
type Cache int

const (
	// Valid is a linear cache covering every layer, as BuildKit writes it.
	Valid Cache = iota
	// None leaves the key out, as a build without inline cache does.
	None
	// Corrupt points a result at a layer the image does not have.
	Corrupt
)

// Records is the payload BuildKit writes for a linear build of n layers:
// a root record and one record per layer, each linked to the one before.
func Records(n int) []cachetypes.CacheRecord {
	recs := []cachetypes.CacheRecord{{Digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"}}
	for i := range n {
		recs = append(recs, cachetypes.CacheRecord{
			Digest:  "sha256:1111111111111111111111111111111111111111111111111111111111111111",
			Results: []cachetypes.CacheResult{{LayerIndex: i}},
			Inputs:  [][]cachetypes.CacheInput{{{LinkIndex: len(recs) - 1}}},
		})
	}
	return recs
}

// Image makes a random image of the given platform and layer count whose
// config carries the given cache.
func Image(t testing.TB, platform string, layers int, cache Cache) v1.Image {
	t.Helper()
	img, err := random.Image(64, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	raw, err := json.Marshal(cf)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	switch cache {
	case Valid:
		m["moby.buildkit.cache.v0"] = encode(Records(layers))
	case Corrupt:
		recs := Records(layers)
		recs[len(recs)-1].Results[0].LayerIndex = layers + 3
		m["moby.buildkit.cache.v0"] = encode(recs)
	}
	if raw, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	return &rawConfigImage{Image: img, raw: raw}
}

func encode(v any) string {
	b, _ := json.Marshal(v)
	return base64.StdEncoding.EncodeToString(b)
}

// Push writes img to ref and returns ref@digest.
func Push(t testing.TB, ref string, img v1.Image) string {
	t.Helper()
	return write(t, ref, func(r name.Reference) error { return remote.Write(r, img) }, img.Digest)
}

// write puts a manifest at ref with put and returns ref@digest.
func write(t testing.TB, ref string, put func(name.Reference) error, digest func() (v1.Hash, error)) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := put(r); err != nil {
		t.Fatal(err)
	}
	d, err := digest()
	if err != nil {
		t.Fatal(err)
	}
	return r.Context().Digest(d.String()).String()
}

// Pull reads the image at ref from its registry; any failure fails the
// test.
func Pull(t testing.TB, ref string, opts ...remote.Option) v1.Image {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, opts...)
	if err != nil {
		t.Fatalf("read %s: %v", ref, err)
	}
	return img
}

// FirstLayer is the digest of the image's bottom layer.
func FirstLayer(t testing.TB, img v1.Image) v1.Hash {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) == 0 {
		t.Fatal("the image has no layers")
	}
	d, err := ls[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Head returns the digest ref points at in its registry, "" when the
// registry has no such manifest; any other failure fails the test.
func Head(t testing.TB, ref string, opts ...remote.Option) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r, opts...)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return ""
	}
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return d.Digest.String()
}

// PushIndex writes an index of the images (each with its config's
// platform) plus a provenance attestation manifest, and returns ref@digest.
func PushIndex(t testing.TB, ref string, imgs ...v1.Image) string {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: cf.Platform()}})
	}
	for _, img := range imgs {
		d, _ := img.Digest()
		att, err := random.Image(32, 1)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": d.String()},
		}})
	}
	idx := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), types.OCIImageIndex)
	return write(t, ref, func(r name.Reference) error { return remote.WriteIndex(r, idx) }, idx.Digest)
}

// rawConfigImage replaces an image's config with raw bytes, which may hold
// keys v1.ConfigFile does not know, such as the inline cache.
type rawConfigImage struct {
	v1.Image
	raw []byte
}

func (i *rawConfigImage) RawConfigFile() ([]byte, error) { return i.raw, nil }

func (i *rawConfigImage) ConfigFile() (*v1.ConfigFile, error) {
	return v1.ParseConfigFile(bytes.NewReader(i.raw))
}

func (i *rawConfigImage) ConfigName() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(i.raw))
	return h, err
}

func (i *rawConfigImage) Manifest() (*v1.Manifest, error) {
	m, err := i.Image.Manifest()
	if err != nil {
		return nil, err
	}
	m = m.DeepCopy()
	h, err := i.ConfigName()
	if err != nil {
		return nil, err
	}
	m.Config.Digest, m.Config.Size = h, int64(len(i.raw))
	return m, nil
}

func (i *rawConfigImage) RawManifest() ([]byte, error) {
	m, err := i.Manifest()
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

func (i *rawConfigImage) Digest() (v1.Hash, error) { return partial.Digest(i) }

func (i *rawConfigImage) Size() (int64, error) { return partial.Size(i) }

func (i *rawConfigImage) String() string {
	return fmt.Sprintf("image with raw config (%d bytes)", len(i.raw))
}
