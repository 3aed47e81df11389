package verify

import (
	"bytes"
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/inlinecache/action/internal/cachemeta"
)

// maxFetchConcurrency bounds how many platform images are read at once.
// Indexes as built (a handful to a few dozen platforms) are read whole at
// once, so verification waits one registry round for all manifests and
// one for all configs; only an unusually wide index is read in waves.
const maxFetchConcurrency = 64

// check reads every platform image under desc, concurrently, and fills rep.
//
// Registry requests, for an index of N platform images: one GET of the
// index (the puller's Get that produced desc), then per platform one GET
// of its manifest and one GET of its config blob: 1 + 2N. Before them
// go-containerregistry pings GET /v2/ once to learn how to authenticate
// (plus a token request on registries that want one); for registries that
// may be plain HTTP it tries https, then http. The platform reads share the
// puller's transport and never ping again, and a later call of the same
// Verifier has its pings answered from memory (memo.go,
// TestRequestsPerIndex).
//
// A registry cache manifest is recognised, in either form; with deep its
// cache is checked too (cache.go), else only recognised.
func (v *Verifier) check(ctx context.Context, c *call, pl *remote.Puller, r name.Reference, desc *remote.Descriptor, rep *Report, deep bool) error {
	// named says what failed where: registry, repository, object.
	named := func(object string, err error) error {
		return fmt.Errorf("%s (registry %s, repository %s): %w", object, r.Context().RegistryStr(), r.Context().RepositoryStr(), v.explain(ctx, c, r, err))
	}
	if desc.MediaType.IsIndex() || desc.MediaType.IsImage() {
		if form, cfg, layers, ok := cacheParts(desc.MediaType.IsIndex(), desc.Manifest); ok {
			rep.RegistryCache, rep.Explanation = true, registryCacheExplanation
			if deep {
				rep.Cache = v.checkCache(ctx, pl, r, form, cfg, layers, named)
				rep.Cache.Digest = desc.Digest.String()
			}
			return nil
		}
	}
	switch {
	case desc.MediaType.IsIndex():
		// The index is parsed here, once; each platform is then read by
		// digest through the call's puller.
		im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			return fmt.Errorf("read %w", named("index "+desc.Digest.String(), err))
		}
		var children []v1.Descriptor
		for _, m := range im.Manifests {
			if IsAttestation(m) || !m.MediaType.IsImage() {
				continue
			}
			children = append(children, m)
		}
		rep.Platforms = make([]Platform, len(children))
		var g errgroup.Group
		g.SetLimit(maxFetchConcurrency)
		for i, m := range children {
			g.Go(func() error {
				p := Platform{Platform: platformString(m.Platform), Digest: m.Digest.String()}
				img, err := childImage(ctx, pl, r, m)
				if err != nil {
					p.Error, p.Unreadable = "cannot read "+named("manifest "+m.Digest.String()+" of platform "+p.Platform, err).Error(), true
				} else {
					p = checkImage(img, p, named)
				}
				rep.Platforms[i] = p
				return nil // a failed read is part of its platform's result
			})
		}
		_ = g.Wait()
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return fmt.Errorf("read %w", named("image manifest "+desc.Digest.String(), err))
		}
		rep.Platforms = append(rep.Platforms, checkImage(img, Platform{Digest: desc.Digest.String()}, named))
	default:
		return fmt.Errorf("%s is a %s, not an image or image index", r, desc.MediaType)
	}
	return nil
}

// childImage reads the platform manifest m of an index by digest.
func childImage(ctx context.Context, pl *remote.Puller, r name.Reference, m v1.Descriptor) (v1.Image, error) {
	d, err := pl.Get(ctx, r.Context().Digest(m.Digest.String()))
	if err != nil {
		return nil, err
	}
	if d.Digest != m.Digest {
		return nil, fmt.Errorf("the registry served %s for %s", d.Digest, m.Digest)
	}
	return d.Image()
}

// checkImage reads one image's manifest and config and analyses its cache.
// named(object, err) names the object, registry and repository of a failure.
func checkImage(img v1.Image, p Platform, named func(string, error) error) Platform {
	// A single-platform image's platform is in its config: until that is
	// read, say which image it is.
	platform := p.Platform
	if platform == "" {
		platform = "unknown (single-platform image " + p.Digest + ", its config unread)"
		p.Platform = "unknown"
	}
	m, err := img.Manifest()
	if err != nil {
		p.Error, p.Unreadable = "cannot read "+named("manifest "+p.Digest+" of platform "+platform, err).Error(), true
		return p
	}
	if m.Config.Size > cachemeta.MaxConfigBytes {
		// not read, so whether it carries cache is unknown
		p.Error, p.Unreadable = fmt.Sprintf("the image config is %d bytes, over the %d-byte limit", m.Config.Size, cachemeta.MaxConfigBytes), true
		return p
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		p.Error, p.Unreadable = "cannot read "+named("config "+m.Config.Digest.String()+" of platform "+platform, err).Error(), true
		return p
	}
	if p.Platform == "unknown" {
		if cf, err := v1.ParseConfigFile(bytes.NewReader(raw)); err == nil {
			p.Platform = platformString(cf.Platform())
		}
	}
	p.LayersTotal = len(m.Layers)
	for _, l := range m.Layers {
		p.LayerDigests = append(p.LayerDigests, l.Digest.String())
	}
	payload, err := cachemeta.Decode(raw)
	if err != nil {
		p.Error = err.Error()
		return p
	}
	p.Summary = cachemeta.Analyze(payload, len(m.Layers))
	p.Verified = p.Summary.Valid()
	return p
}
