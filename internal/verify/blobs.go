package verify

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// BlobSet are the blobs of an image or cache, by digest, with their sizes.
type BlobSet struct {
	// Configs are image configs; a registry cache's config is a layer
	// here, as its manifest lists it.
	Configs map[string]int64
	Layers  map[string]int64
}

// Beyond is the size of the blobs of b that other does not have.
func (b BlobSet) Beyond(other BlobSet) int64 {
	var n int64
	for _, m := range []map[string]int64{b.Configs, b.Layers} {
		for d, s := range m {
			if _, ok := other.Configs[d]; ok {
				continue
			}
			if _, ok := other.Layers[d]; !ok {
				n += s
			}
		}
	}
	return n
}

// Blobs lists the blobs (configs and layers) that the manifest at ref
// refers to, through an index's child manifests too: what the image or
// cache keeps in its repository. It reads only manifests, never a blob,
// so it costs one request per manifest.
func (v *Verifier) Blobs(ctx context.Context, ref string) (BlobSet, error) {
	r, ctx, cancel, c, opts, err := v.beginRef(ctx, ref)
	if err != nil {
		return BlobSet{}, err
	}
	defer cancel()
	out := BlobSet{Configs: map[string]int64{}, Layers: map[string]int64{}}
	// A manifest and an index share the fields read here.
	var walk func(raw []byte, depth int) error
	walk = func(raw []byte, depth int) error {
		var m struct {
			Config    *v1.Descriptor  `json:"config"`
			Layers    []v1.Descriptor `json:"layers"`
			Manifests []v1.Descriptor `json:"manifests"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("decode a manifest of %s: %w", r, err)
		}
		if m.Config != nil {
			out.Configs[m.Config.Digest.String()] = m.Config.Size
		}
		for _, l := range m.Layers {
			out.Layers[l.Digest.String()] = l.Size
		}
		for _, d := range m.Manifests {
			if IsAttestation(d) {
				continue // provenance and SBOM: no cache, not the image's layers
			}
			if !d.MediaType.IsImage() && !d.MediaType.IsIndex() {
				// A registry cache lists its layers and config here.
				out.Layers[d.Digest.String()] = d.Size
				continue
			}
			if depth > 1 {
				continue
			}
			child, err := v.fetchRaw(ctx, c, opts, r.Context().Digest(d.Digest.String()))
			if err != nil {
				return err
			}
			if err := walk(child, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	raw, err := v.fetchRaw(ctx, c, opts, r)
	if err != nil {
		return out, err
	}
	if err := walk(raw, 0); err != nil {
		return out, err
	}
	return out, nil
}

// fetchRaw reads one manifest's bytes.
func (v *Verifier) fetchRaw(ctx context.Context, c *call, opts []remote.Option, r name.Reference) ([]byte, error) {
	d, err := remote.Get(r, opts...)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", r, v.explain(ctx, c, r, err))
	}
	return d.Manifest, nil
}
