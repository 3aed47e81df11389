package verify

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/inlinecache/action/internal/cachemeta"
)

// Forms of a registry cache manifest, as --cache-to type=registry writes
// them.
const (
	// CacheFormIndex: an OCI index listing the layers and, as one more
	// entry, the cache config (image-manifest=false).
	CacheFormIndex = "index"
	// CacheFormImageManifest: an image manifest whose config is the cache
	// config and whose layers are the cache's (image-manifest=true).
	CacheFormImageManifest = "image-manifest"
)

// CacheManifest is the verdict on a registry cache manifest: its config
// read and checked as BuildKit's importer reads it, and every layer blob it
// lists looked up in the registry.
type CacheManifest struct {
	Digest string `json:"digest"`
	Form   string `json:"form"`
	Config string `json:"config"`
	cachemeta.CacheSummary
	// LayersListed counts the layer blobs the manifest lists, and
	// LayersFound those the registry has.
	LayersListed int `json:"layersListed"`
	LayersFound  int `json:"layersFound"`
	// Layers are the digests of the listed layer blobs, in the manifest's
	// order: an image built with this cache has its layers among them.
	Layers []string `json:"layerDigests"`
	// Error says why the config could not be read or decoded.
	Error string `json:"error,omitempty"`
	// Unreadable says the config could not be read (Error says why), so
	// what the cache holds is unknown; a config read whole that does not
	// decode is not Unreadable.
	Unreadable bool `json:"unreadable,omitempty"`
	Verified   bool `json:"verified"`
}

// Failures says what is wrong with the cache, one item each.
func (c CacheManifest) Failures() []string {
	if c.Verified {
		return nil
	}
	if c.Error != "" {
		return []string{c.Error}
	}
	if len(c.Problems) > 0 {
		return c.Problems
	}
	return []string{"not verified"}
}

// registryCacheExplanation says what a type=registry cache export is, for
// users who read the report of one.
const registryCacheExplanation = "a BuildKit registry cache manifest (config media type " +
	cachemeta.RegistryCacheConfigMediaType + ", written by --cache-to type=registry), not an image: " +
	"it holds cache only and cannot be run; builds import it with --cache-from type=registry,ref=<this ref>"

// checkCache reads the cache config the descriptor cfg names, decodes and
// checks it against listed (the manifest's layers), and looks every listed
// layer blob up in the registry. named(object, err) names the object,
// registry and repository of a failure.
//
// Registry requests: one GET of the config blob and one HEAD per listed
// layer, at most maxFetchConcurrency at once, on the call's puller.
func (v *Verifier) checkCache(ctx context.Context, pl *remote.Puller, r name.Reference, form string, cfg v1.Descriptor, listed []v1.Descriptor, named func(string, error) error) *CacheManifest {
	cm := &CacheManifest{Form: form, Config: cfg.Digest.String(), LayersListed: len(listed)}
	digests := make([]string, len(listed))
	for i, d := range listed {
		digests[i] = d.Digest.String()
	}
	cm.Layers = digests
	raw, err := readCacheConfig(ctx, pl, r, cfg)
	if err != nil {
		cm.Error, cm.Unreadable = "cannot read "+named("cache config "+cfg.Digest.String(), err).Error(), true
		return cm
	}
	cc, err := cachemeta.DecodeCacheConfig(raw)
	if err != nil {
		cm.Error = fmt.Sprintf("cache config %s (registry %s, repository %s): %v", cfg.Digest, r.Context().RegistryStr(), r.Context().RepositoryStr(), err)
		return cm
	}
	cm.CacheSummary = cachemeta.AnalyzeCacheConfig(cc, digests)

	missing := make([]string, len(listed))
	var g errgroup.Group
	g.SetLimit(maxFetchConcurrency)
	for i, d := range listed {
		g.Go(func() error {
			missing[i] = layerMissing(ctx, pl, r, d, named)
			return nil // a blob that cannot be found is part of the verdict
		})
	}
	_ = g.Wait()
	for _, m := range missing {
		if m == "" {
			cm.LayersFound++
		} else {
			cm.Problems = append(cm.Problems, m)
		}
	}
	cm.Verified = cm.Valid() && cm.LayersFound == cm.LayersListed
	return cm
}

// readCacheConfig reads a cache config blob, bounded like an image
// config, its digest checked by go-containerregistry as it is read.
func readCacheConfig(ctx context.Context, pl *remote.Puller, r name.Reference, cfg v1.Descriptor) ([]byte, error) {
	if cfg.Size > cachemeta.MaxConfigBytes {
		return nil, fmt.Errorf("it is %d bytes, over the %d-byte limit", cfg.Size, cachemeta.MaxConfigBytes)
	}
	l, err := pl.Layer(ctx, r.Context().Digest(cfg.Digest.String()))
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, cachemeta.MaxConfigBytes+1))
	if err != nil {
		return nil, err
	}
	return raw, nil
}

// layerMissing looks one listed layer blob up (HEAD) and says what is
// wrong with it, or "" when the registry has it at the listed size.
func layerMissing(ctx context.Context, pl *remote.Puller, r name.Reference, d v1.Descriptor, named func(string, error) error) string {
	object := "layer blob " + d.Digest.String()
	l, err := pl.Layer(ctx, r.Context().Digest(d.Digest.String()))
	if err != nil {
		return "cannot look up " + named(object, err).Error()
	}
	size, err := l.Size()
	switch {
	case isNotFound(err):
		return fmt.Sprintf("%s is listed in the cache manifest but not in the registry (registry %s, repository %s): 404 Not Found", object, r.Context().RegistryStr(), r.Context().RepositoryStr())
	case err != nil:
		return "cannot look up " + named(object, err).Error()
	case size >= 0 && d.Size > 0 && size != d.Size:
		return fmt.Sprintf("%s (registry %s, repository %s) is %d bytes, the cache manifest says %d", object, r.Context().RegistryStr(), r.Context().RepositoryStr(), size, d.Size)
	}
	return ""
}

// cacheParts finds a registry cache in a manifest or index: its form, the
// cache config's descriptor and the listed layers. ok is false for
// anything else.
func cacheParts(mediaIndex bool, raw []byte) (form string, cfg v1.Descriptor, layers []v1.Descriptor, ok bool) {
	if mediaIndex {
		im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return "", cfg, nil, false
		}
		for _, m := range im.Manifests {
			if string(m.MediaType) == cachemeta.RegistryCacheConfigMediaType {
				cfg, ok = m, true
			} else {
				layers = append(layers, m)
			}
		}
		return CacheFormIndex, cfg, layers, ok
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil || string(m.Config.MediaType) != cachemeta.RegistryCacheConfigMediaType {
		return "", cfg, nil, false
	}
	return CacheFormImageManifest, m.Config, m.Layers, true
}
