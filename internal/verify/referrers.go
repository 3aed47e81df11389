package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Artifacts that refer to an image (OCI 1.1 referrers), pushed and read
// as calls of their own: each bounded by the verify timeout and retried
// like verification's reads. Registries with the referrers API list them
// themselves; for those without (distribution 2.8, among many),
// go-containerregistry keeps the OCI referrers tag schema: an image index
// tagged sha256-<hex of the subject> in the subject's repository, updated
// on every push with a subject and read when the API is missing. Both
// directions are go-containerregistry's (WithReferrersTagFallback is on
// by default); the index update is a read then a write, so two pushes for
// the same image at the same moment may keep only one entry.

// PushReferrer looks subject (repository@digest) up, has build make the
// artifact for its descriptor, and pushes the artifact's blobs, then its
// manifest by digest, into subject's repository. It returns the
// artifact's digest.
func (v *Verifier) PushReferrer(ctx context.Context, subject string, build func(v1.Descriptor) (manifest []byte, blobs [][]byte, err error)) (string, error) {
	d, err := v.parseDigest(subject)
	if err != nil {
		return "", err
	}
	ctx, cancel, c, opts := v.begin(ctx, d)
	defer cancel()
	subj, err := head(d, opts...)
	if err != nil {
		return "", fmt.Errorf("look up %s: %w", d, v.explain(ctx, c, d, err))
	}
	manifest, blobs, err := build(v1.Descriptor{MediaType: subj.MediaType, Size: subj.Size, Digest: subj.Digest})
	if err != nil {
		return "", err
	}
	var mt struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if err := json.Unmarshal(manifest, &mt); err != nil || mt.MediaType == "" {
		return "", fmt.Errorf("the artifact manifest names no media type: %v", err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(manifest))
	if err != nil {
		return "", err
	}
	// Where the registry answers the tag schema's tag with the image
	// itself, go-containerregistry's own index update would read the
	// image as the index: list the artifact under the alias tag instead.
	aliased := v.tagSchemaAliased(d, opts)
	putOpts := opts
	if aliased {
		putOpts = append(slices.Clip(opts), remote.WithReferrersTagFallback(false))
	}
	p, err := remote.NewPusher(putOpts...)
	if err != nil {
		return "", err
	}
	repo := d.Context()
	for _, b := range blobs {
		if err := p.Upload(ctx, repo, static.NewLayer(b, types.OCIUncompressedLayer)); err != nil {
			return "", fmt.Errorf("push to %s: %w", repo, v.pushFailure(ctx, c, d, err))
		}
	}
	at := repo.Digest(h.String())
	// With the fallback off, go-containerregistry puts the manifest and
	// then says it could not list it: that listing is done below.
	if err := p.Put(ctx, at, rawManifest{raw: manifest, mt: mt.MediaType}); err != nil && !(aliased && fallbackOff(err)) {
		return "", fmt.Errorf("push %s: %w", at, v.pushFailure(ctx, c, d, err))
	}
	if aliased {
		desc := v1.Descriptor{MediaType: mt.MediaType, Digest: h, Size: int64(len(manifest))}
		var af struct {
			ArtifactType string            `json:"artifactType"`
			Annotations  map[string]string `json:"annotations"`
		}
		if json.Unmarshal(manifest, &af) == nil {
			desc.ArtifactType, desc.Annotations = af.ArtifactType, af.Annotations
		}
		if err := v.listUnderAlias(ctx, c, d, desc, opts); err != nil {
			return "", err
		}
	}
	return h.String(), nil
}

// aliasTag lists the referrers of d where the registry aliases the OCI
// referrers tag schema's tag (sha256-<hex>) to the digest sha256:<hex>
// itself, as GitLab's does (oras-go#1396; gitlab container-registry#1205):
// the schema's tag with ".referrers" added, which no registry reads as a
// digest. It holds an OCI index of the referrers, as the schema's would.
func aliasTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".referrers")
}

// tagSchemaAliased reports whether the registry answers the referrers
// tag schema's tag of d with the image d itself. What cannot be read
// counts as not aliased: the schema is then used as everywhere.
func (v *Verifier) tagSchemaAliased(d name.Digest, opts []remote.Option) bool {
	got, err := head(d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1)), opts...)
	return err == nil && got.Digest.String() == d.DigestStr()
}

// fallbackOff is go-containerregistry's word that it put a manifest with
// a subject but, its tag fallback off, did not list it.
func fallbackOff(err error) bool {
	return strings.Contains(err.Error(), "referrers tag fallback is disabled")
}

// listUnderAlias adds desc to the index at aliasTag(d), creating it.
func (v *Verifier) listUnderAlias(ctx context.Context, c *call, d name.Digest, desc v1.Descriptor, opts []remote.Option) error {
	t := aliasTag(d)
	im, err := v.aliasIndex(ctx, c, d, opts)
	if err != nil {
		return err
	}
	for _, m := range im.Manifests {
		if m.Digest == desc.Digest {
			return nil
		}
	}
	im.Manifests = append(im.Manifests, desc)
	raw, err := json.Marshal(im)
	if err != nil {
		return err
	}
	if err := remote.Put(t, rawManifest{raw: raw, mt: types.OCIImageIndex}, opts...); err != nil {
		return fmt.Errorf("list the referrer under %s: %w", t, v.pushFailure(ctx, c, t, err))
	}
	return nil
}

// aliasIndex reads the index at aliasTag(d): empty where there is none.
func (v *Verifier) aliasIndex(ctx context.Context, c *call, d name.Digest, opts []remote.Option) (*v1.IndexManifest, error) {
	t := aliasTag(d)
	got, err := remote.Get(t, opts...)
	if isNotFound(err) {
		return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", t, v.explain(ctx, c, t, err))
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(got.Manifest))
	if err != nil || got.MediaType != types.OCIImageIndex {
		return nil, fmt.Errorf("%s is a %s, not the OCI index of referrers it should be (%v)", t, got.MediaType, err)
	}
	return im, nil
}

// rawManifest is a manifest to put as it is.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// pushFailure explains a refused write in its own words (explain speaks
// of pulling) and anything else as reads are explained.
func (v *Verifier) pushFailure(ctx context.Context, c *call, r name.Reference, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		who, _ := v.credentialUser(ctx, r.Context().Registry)
		return &RegistryError{Registry: r.Context().RegistryStr(), Err: err,
			Msg: fmt.Sprintf("refused the push to %s (%d %s) with the credentials%s from %s: %v",
				r.Context().RepositoryStr(), te.StatusCode, http.StatusText(te.StatusCode), who, v.credentialSource(r.Context().RegistryStr()), err)}
	}
	return v.explain(ctx, c, r, err)
}

// Referrers lists the manifests of artifactType that refer to subject
// (repository@digest): through the referrers API, or the tag schema where
// the registry has no API. None is an empty list, not an error.
func (v *Verifier) Referrers(ctx context.Context, subject, artifactType string) ([]v1.Descriptor, error) {
	d, err := v.parseDigest(subject)
	if err != nil {
		return nil, err
	}
	ctx, cancel, c, opts := v.begin(ctx, d)
	defer cancel()
	// No remote.WithFilter: go-containerregistry filters on the listed
	// artifactType, which registries that follow an OCI 1.1 draft give as
	// the config's media type (the empty one, for an artifact).
	idx, err := remote.Referrers(d, opts...)
	if err != nil {
		return nil, fmt.Errorf("list the referrers of %s: %w", d, v.explain(ctx, c, d, err))
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("list the referrers of %s: %w", d, v.explain(ctx, c, d, err))
	}
	if h, err := idx.Digest(); err == nil && h.String() == d.DigestStr() {
		// The tag schema's "index" is the image itself: the registry
		// aliases that tag to the digest (GitLab). The referrers are
		// listed under aliasTag instead (PushReferrer).
		aliased := fmt.Sprintf("the registry answers the referrers tag %s with the image itself (it aliases sha256-<hex> tags to digests, as GitLab's does), so referrers are listed under %s",
			strings.Replace(d.DigestStr(), ":", "-", 1), aliasTag(d).TagStr())
		if im, err = v.aliasIndex(ctx, c, d, opts); err != nil {
			return nil, fmt.Errorf("list the referrers of %s (%s): %w", d, aliased, err)
		}
		if len(im.Manifests) == 0 {
			// Say so: whatever another tool listed at the schema's tag
			// cannot be read there.
			return nil, fmt.Errorf("%s, and none is listed there", aliased)
		}
	}
	var out []v1.Descriptor
	var p *remote.Puller
	resolved := 0
	for _, m := range im.Manifests {
		if m.ArtifactType == string(types.OCIEmptyJSON) && resolved < maxResolvedReferrers {
			// Listed by its config: its manifest says what it is.
			resolved++
			if p == nil {
				if p, err = remote.NewPuller(opts...); err != nil {
					return nil, err
				}
			}
			at := d.Context().Digest(m.Digest.String())
			got, err := p.Get(ctx, at)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", at, v.explain(ctx, c, at, err))
			}
			var mf struct {
				ArtifactType string `json:"artifactType"`
			}
			if json.Unmarshal(got.Manifest, &mf) == nil && got.Digest == m.Digest {
				m.ArtifactType = mf.ArtifactType
			}
		}
		if m.ArtifactType == artifactType {
			out = append(out, m)
		}
	}
	return out, nil
}

// maxResolvedReferrers bounds the manifests Referrers reads to learn what
// they are.
const maxResolvedReferrers = 32

// ReadReferrer reads the manifest desc from subject's repository and the
// blob layer picks from it, of at most max bytes, checked against its
// digest.
func (v *Verifier) ReadReferrer(ctx context.Context, subject string, desc v1.Descriptor, layer func(manifest []byte) (v1.Descriptor, error), max int64) ([]byte, error) {
	d, err := v.parseDigest(subject)
	if err != nil {
		return nil, err
	}
	at := d.Context().Digest(desc.Digest.String())
	ctx, cancel, c, opts := v.begin(ctx, at)
	defer cancel()
	p, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, err
	}
	m, err := p.Get(ctx, at)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", at, v.explain(ctx, c, at, err))
	}
	if m.Digest != desc.Digest {
		return nil, fmt.Errorf("the registry served %s for %s", m.Digest, at)
	}
	l, err := layer(m.Manifest)
	if err != nil {
		return nil, err
	}
	if l.Size > max {
		return nil, fmt.Errorf("blob %s is %d bytes, over the %d-byte limit", l.Digest, l.Size, max)
	}
	blob := d.Context().Digest(l.Digest.String())
	rl, err := p.Layer(ctx, blob)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", blob, v.explain(ctx, c, blob, err))
	}
	rc, err := rl.Compressed()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", blob, v.explain(ctx, c, blob, err))
	}
	defer rc.Close()
	// go-containerregistry checks the digest once the body is read whole.
	body, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err == nil && int64(len(body)) > max {
		err = fmt.Errorf("over the %d-byte limit", max)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", blob, v.explain(ctx, c, blob, err))
	}
	return body, nil
}

// parseDigest parses repository@digest.
func (v *Verifier) parseDigest(ref string) (name.Digest, error) {
	r, err := v.ParseReference(ref)
	if err != nil {
		return name.Digest{}, fmt.Errorf("parse %q: %w", ref, err)
	}
	d, ok := r.(name.Digest)
	if !ok {
		return name.Digest{}, fmt.Errorf("%q names no digest", ref)
	}
	return d, nil
}
