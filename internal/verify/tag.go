package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// TagAction is what tagging did to one tag.
type TagAction string

const (
	// TagCreated: the tag did not exist.
	TagCreated TagAction = "created"
	// TagMoved: the tag pointed at another digest (Previous).
	TagMoved TagAction = "moved"
	// TagUnchanged: the tag already pointed at the digest; nothing was
	// written, so registries with immutable tags accept the run.
	TagUnchanged TagAction = "unchanged"
)

// TagResult is one tag after Tag.
type TagResult struct {
	Tag      string    `json:"tag"`
	Action   TagAction `json:"action"`
	Previous string    `json:"previous,omitempty"`
}

// TagError is a tag that could not be set after the digest was verified.
type TagError struct {
	Tag    string
	Digest string
	Err    error
}

func (e *TagError) Error() string {
	return fmt.Sprintf("tag %s → %s: %v", e.Tag, e.Digest, e.Err)
}

func (e *TagError) Unwrap() error { return e.Err }

// Tag points every tag at digest (sha256:…), which must already be in each
// tag's repository: a push by digest puts it in every repository it names.
// The manifest is copied within its repository, byte for byte, so the tag
// resolves to exactly the verified digest. Each tag is looked up first and
// left alone when it already points there. It stops at the first tag that
// fails and returns what it did up to there.
func (v *Verifier) Tag(ctx context.Context, digest string, tags []string) ([]TagResult, error) {
	var out []TagResult
	manifests := map[string]*remote.Descriptor{} // by repository
	for _, t := range tags {
		res, err := v.tagOne(ctx, digest, t, manifests)
		if err != nil {
			return out, &TagError{Tag: t, Digest: digest, Err: err}
		}
		out = append(out, res)
	}
	return out, nil
}

// tagOne sets one tag, as one call: bounded by the verifier's timeout,
// its reads and the write retried as verification's are.
func (v *Verifier) tagOne(ctx context.Context, digest, t string, manifests map[string]*remote.Descriptor) (TagResult, error) {
	r, err := v.ParseReference(t)
	if err != nil {
		return TagResult{}, err
	}
	tag, ok := r.(name.Tag)
	if !ok {
		return TagResult{}, errors.New("not a tag")
	}
	ctx, cancel, c, opts := v.begin(ctx, tag)
	defer cancel()
	res := TagResult{Tag: tag.String(), Action: TagCreated}
	cur, err := remote.Head(tag, opts...)
	switch {
	case err == nil && cur.Digest.String() == digest:
		res.Action = TagUnchanged
		return res, nil
	case err == nil:
		res.Action, res.Previous = TagMoved, cur.Digest.String()
	case !isNotFound(err):
		return res, fmt.Errorf("look up the tag: %w", v.explain(ctx, c, tag, err))
	}
	repo := tag.Context()
	desc, ok := manifests[repo.String()]
	if !ok {
		d := repo.Digest(digest)
		if desc, err = remote.Get(d, opts...); err != nil {
			return res, fmt.Errorf("read %s: %w", d, v.explain(ctx, c, d, err))
		}
		if desc.Digest.String() != digest {
			return res, fmt.Errorf("the registry served %s for %s", desc.Digest, d)
		}
		manifests[repo.String()] = desc
	}
	if err := remote.Tag(tag, desc, opts...); err != nil {
		return res, v.explain(ctx, c, tag, err)
	}
	return res, nil
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
