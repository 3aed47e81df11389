package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
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
	cur, err := head(tag, opts...)
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
		if res.Action == TagMoved && refusedAsImmutable(err) {
			return res, &ImmutableTagError{Tag: tag.String(), Previous: res.Previous, Digest: digest, Err: v.explain(ctx, c, tag, err)}
		}
		return res, v.explain(ctx, c, tag, err)
	}
	return res, nil
}

// ImmutableTagError is a tag the registry would not move because its
// repository's tags are immutable (ECR's IMMUTABLE setting,
// containers-roadmap#862; Harbor's and GAR's immutable tag rules): the
// image is pushed and verified, only the tag still names the earlier one.
type ImmutableTagError struct {
	Tag, Previous, Digest string
	Err                   error // the refusal, in the registry's words
}

// ImmutableAdvice is what works on a registry whose tags cannot move.
const ImmutableAdvice = "with immutable tags, a tag cannot follow new builds: tag each build with a tag of its own " +
	"(the commit SHA, say) and give cache-from the tag of the build to start from, with cache-stages off " +
	"(the stage and registry caches are tags that move too); " +
	"or let the moving tags be overwritten (ECR: image tag mutability MUTABLE, or IMMUTABLE_WITH_EXCLUSION " +
	"excluding them, e.g. the branch tag and *-buildcache, *-stage-*)"

func (e *ImmutableTagError) Error() string {
	return fmt.Sprintf("the registry refused to move %s from %s to %s because its tags are immutable (%v); "+
		"the image is pushed and verified under its digest, the tag still names the earlier image; %s",
		e.Tag, e.Previous, e.Digest, e.Err, ImmutableAdvice)
}

func (e *ImmutableTagError) Unwrap() error { return e.Err }

// refusedAsImmutable reports whether a write was refused for immutable
// tags, in the registry's words: ECR answers 400 TAG_INVALID "… cannot
// be overwritten because the repository is immutable"; Harbor 412 and GAR
// 400 also name immutability in their message.
func refusedAsImmutable(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode/100 != 4 {
		return false
	}
	for _, d := range te.Errors {
		if strings.Contains(strings.ToLower(d.Message), "immutable") {
			return true
		}
	}
	return false
}

// IsNotFound reports whether err is the registry's 404 for what was read.
func IsNotFound(err error) bool { return isNotFound(err) }

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// head looks r up: its descriptor from a HEAD request, or, when the
// registry's answer lacks the Docker-Content-Digest (or Content-Length)
// header, from a GET with the digest computed from the body. The OCI
// spec says a registry SHOULD send the header; ECR leaves it off manifest
// GETs (aws/containers-roadmap#1931), as public.ecr.aws and
// registry.redhat.io have been reported to (distribution#3792,
// krustlet#667), and go-containerregistry's HEAD gives up without it.
func head(r name.Reference, opts ...remote.Option) (*v1.Descriptor, error) {
	d, err := remote.Head(r, opts...)
	if err == nil || !missingHeader(err) {
		return d, err
	}
	got, gerr := remote.Get(r, opts...)
	if gerr != nil {
		return nil, gerr
	}
	return &got.Descriptor, nil
}

// missingHeader tells go-containerregistry's complaint about a HEAD answer
// without the headers it needs (it has no type of its own).
func missingHeader(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "did not include Docker-Content-Digest header") || strings.Contains(s, "did not include Content-Length header")
}
