package verify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/inlinecache/action/internal/cachemeta"
)

// fetchConcurrency bounds how many platform images are read at once: enough
// to hide registry latency for wide indexes without opening a connection
// per platform.
const fetchConcurrency = 8

// registryCacheExplanation says what a type=registry cache export is and
// how to use it, for users who pointed verify at one.
const registryCacheExplanation = "this is a BuildKit registry cache manifest (config media type " +
	cachemeta.RegistryCacheConfigMediaType + ", written by --cache-to type=registry), not an image with inline cache: " +
	"it holds cache only and cannot be run. Builds use it with --cache-from type=registry,ref=<this ref>; " +
	"inline cache lives inside the image config of the pushed image itself (--cache-to type=inline), verify that image instead"

// check reads every platform image under desc, concurrently, and fills rep.
//
// Registry requests, for an index of N platform images: one GET of the
// index (the remote.Get that produced desc), then per platform one GET of
// its manifest and one GET of its config blob: 1 + 2N. Before them
// go-containerregistry pings GET /v2/ once to learn how to authenticate
// (plus a token request on registries that want one); for registries that
// may be plain HTTP it races that ping over https and http. The platform
// reads reuse that transport and never ping again (TestRequestsPerIndex).
func (v *Verifier) check(ctx context.Context, r name.Reference, desc *remote.Descriptor, rep *Report) error {
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return fmt.Errorf("read index %s: %w", r, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return fmt.Errorf("read index %s: %w", r, err)
		}
		var children []v1.Descriptor
		for _, m := range im.Manifests {
			if string(m.MediaType) == cachemeta.RegistryCacheConfigMediaType {
				rep.RegistryCache, rep.Explanation = true, registryCacheExplanation
				return nil
			}
			if IsAttestation(m) || !m.MediaType.IsImage() {
				continue
			}
			children = append(children, m)
		}
		rep.Platforms = make([]Platform, len(children))
		sem := make(chan struct{}, fetchConcurrency)
		var wg sync.WaitGroup
		for i, m := range children {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				p := Platform{Platform: platformString(m.Platform), Digest: m.Digest.String()}
				img, err := idx.Image(m.Digest)
				if err != nil {
					p.Error = fmt.Sprintf("cannot read image: %v", err)
				} else {
					p = checkImage(img, p)
				}
				rep.Platforms[i] = p
			}()
		}
		wg.Wait()
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return fmt.Errorf("read image %s: %w", r, err)
		}
		if m, err := img.Manifest(); err == nil && string(m.Config.MediaType) == cachemeta.RegistryCacheConfigMediaType {
			rep.RegistryCache, rep.Explanation = true, registryCacheExplanation
			return nil
		}
		rep.Platforms = append(rep.Platforms, checkImage(img, Platform{Digest: desc.Digest.String()}))
	default:
		return fmt.Errorf("%s is a %s, not an image or image index", r, desc.MediaType)
	}
	return nil
}

// checkImage reads one image's manifest and config and analyses its cache.
func checkImage(img v1.Image, p Platform) Platform {
	m, err := img.Manifest()
	if err != nil {
		p.Error = fmt.Sprintf("cannot read manifest: %v", err)
		return p
	}
	if m.Config.Size > cachemeta.MaxConfigBytes {
		p.Error = fmt.Sprintf("the image config is %d bytes, over the %d-byte limit", m.Config.Size, cachemeta.MaxConfigBytes)
		return p
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		p.Error = fmt.Sprintf("cannot read config: %v", err)
		return p
	}
	if p.Platform == "" || p.Platform == "unknown" {
		if cf, err := v1.ParseConfigFile(bytes.NewReader(raw)); err == nil {
			p.Platform = platformString(cf.Platform())
		}
	}
	p.LayersTotal = len(m.Layers)
	payload, err := cachemeta.Decode(raw)
	if err != nil {
		p.Error = err.Error()
		return p
	}
	p.Summary = cachemeta.Analyze(payload, len(m.Layers))
	p.Verified = p.Summary.Valid()
	return p
}

// limitBodies caps what is read from each registry response: manifests at
// MaxManifestBytes, blobs (we only read configs) at MaxConfigBytes. The
// cap applies where the bytes come off the wire, before any decoding.
func limitBodies(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err != nil || req.Method != http.MethodGet || resp.StatusCode/100 != 2 {
			return resp, err
		}
		var what string
		var limit int64
		switch {
		case strings.Contains(req.URL.Path, "/manifests/"):
			what, limit = "manifest", cachemeta.MaxManifestBytes
		case strings.Contains(req.URL.Path, "/blobs/"):
			what, limit = "blob", cachemeta.MaxConfigBytes
		default:
			return resp, nil
		}
		if resp.ContentLength > limit {
			resp.Body.Close()
			return nil, fmt.Errorf("%s %s is %d bytes, over the %d-byte limit", what, req.URL.Redacted(), resp.ContentLength, limit)
		}
		resp.Body = &limitedBody{rc: resp.Body, left: limit, err: fmt.Errorf("%s %s is over the %d-byte limit", what, req.URL.Redacted(), limit)}
		return resp, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// limitedBody fails, rather than truncating silently, once more than the
// limit has been read.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	err  error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.err
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, b.err
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
