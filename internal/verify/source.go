package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/inlinecache/action/internal/cachemeta"
)

// SourceState is what a cache source (a --cache-from type=registry ref)
// holds, as a build would import it.
type SourceState string

// Source states.
const (
	// SourceNotFound: nothing at the ref yet, as for the first build of a
	// tag or branch. Not a problem in itself.
	SourceNotFound SourceState = "not-found"
	// SourceDenied: the registry refused the credentials, or there were
	// none (401, 403, or a credential helper that fails).
	SourceDenied SourceState = "denied"
	// SourceUnreachable: any other failure to read it (TLS, network,
	// a server error).
	SourceUnreachable SourceState = "unreachable"
	// SourceInline: an image whose platform images carry inline cache
	// metadata (moby.buildkit.cache.v0).
	SourceInline SourceState = "inline"
	// SourceRegistryCache: a cache manifest written by --cache-to
	// type=registry (config media type
	// application/vnd.buildkit.cacheconfig.v0).
	SourceRegistryCache SourceState = "registry-cache"
	// SourceNoCache: an image without cache metadata, or with metadata
	// BuildKit cannot use: importing it imports nothing, and BuildKit says
	// nothing about it.
	SourceNoCache SourceState = "no-cache"
)

// Source is what one cache source was found to be.
type Source struct {
	Ref    string      `json:"ref"`
	State  SourceState `json:"state"`
	Digest string      `json:"digest,omitempty"`
	// Cached are the platforms whose images carry usable inline cache;
	// Uncached those that carry none (or none BuildKit can use).
	Cached   []string `json:"cachedPlatforms,omitempty"`
	Uncached []string `json:"uncachedPlatforms,omitempty"`
	// Missing are platforms being built that the source has no usable
	// cache for.
	Missing []string `json:"missingPlatforms,omitempty"`
	// Error is why it could not be read (denied, unreachable), as verify
	// explains registry failures.
	Error string `json:"error,omitempty"`
	// Importable: a build of the platforms checked imports cache from it
	// (for at least one of them).
	Importable bool `json:"importable"`
}

// Warns reports whether the user should hear about the source as a
// warning: it exists or should, and a build imports less from it than it
// looks like.
func (s Source) Warns() bool {
	switch s.State {
	case SourceDenied, SourceUnreachable, SourceNoCache:
		return true
	case SourceInline:
		return len(s.Missing) > 0
	}
	return false
}

// Message is one line on the source, for the log, the summary and the
// result block.
func (s Source) Message() string {
	switch s.State {
	case SourceNotFound:
		return fmt.Sprintf("cache source %s: not found (nothing pushed there yet, as on the first build of a tag or branch)", s.Ref)
	case SourceDenied:
		return fmt.Sprintf("cache source %s: cannot be read, so the build imports nothing from it: %s", s.Ref, s.Error)
	case SourceUnreachable:
		return fmt.Sprintf("cache source %s: cannot be read: %s", s.Ref, s.Error)
	case SourceRegistryCache:
		return fmt.Sprintf("cache source %s: registry cache manifest (%s)", s.Ref, cachemeta.RegistryCacheConfigMediaType)
	case SourceNoCache:
		what := "an image without cache metadata"
		if len(s.Uncached) > 0 {
			what += " (" + strings.Join(s.Uncached, ", ") + ")"
		}
		return fmt.Sprintf("cache source %s: %s: importing it imports nothing. Push it with the inline cache (this action does) or point cache-from at a registry cache", s.Ref, what)
	}
	msg := fmt.Sprintf("cache source %s: inline cache for %s", s.Ref, strings.Join(s.Cached, ", "))
	if len(s.Uncached) > 0 {
		msg += fmt.Sprintf("; none for %s", strings.Join(s.Uncached, ", "))
	}
	if len(s.Missing) > 0 {
		msg += fmt.Sprintf("; nothing for %s, being built: those platforms import nothing from it", strings.Join(s.Missing, ", "))
	}
	return msg
}

// sourceTimeout bounds the check of one source, retries included, within
// the Verifier's own bound: it runs beside the build and must never hold
// up the report for long.
const sourceTimeout = 30 * time.Second

// CheckSources checks every ref concurrently and returns the results in
// the order given. platforms are the platforms being built (os/arch[/variant]);
// empty or "local" skips the coverage check.
func (v *Verifier) CheckSources(ctx context.Context, refs, platforms []string) []Source {
	out := make([]Source, len(refs))
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = v.CheckSource(ctx, ref, platforms)
		}()
	}
	wg.Wait()
	return out
}

// CheckSource reads the cache source ref (a tag or digest) and says what a
// build on platforms would import from it.
func (v *Verifier) CheckSource(ctx context.Context, ref string, platforms []string) Source {
	ctx, cancel := context.WithTimeout(ctx, sourceTimeout)
	defer cancel()
	src := Source{Ref: ref}
	r, err := v.ParseReference(ref)
	if err != nil {
		src.State, src.Error = SourceUnreachable, fmt.Sprintf("not a valid reference: %v", err)
		return src
	}
	ctx, cancel2, c, opts := v.begin(ctx, r)
	defer cancel2()
	// One puller for the call, as Verify reads: one ping, one token.
	p, err := remote.NewPuller(append(opts, remote.WithJobs(maxFetchConcurrency))...)
	if err != nil {
		src.State, src.Error = SourceUnreachable, err.Error()
		return src
	}
	desc, err := p.Get(ctx, r)
	if err != nil {
		return v.failed(ctx, c, r, err, src)
	}
	src.Digest = desc.Digest.String()
	rep := Report{Ref: r.String()}
	// A registry cache is recognised, not checked: this runs beside the
	// build within sourceTimeout, and BuildKit's own import says whether
	// its blobs were there.
	if err := v.check(ctx, c, p, r, desc, &rep, false); err != nil {
		return v.failed(ctx, c, r, err, src)
	}
	if rep.RegistryCache {
		src.State, src.Importable = SourceRegistryCache, true
		return src
	}
	for _, p := range rep.Platforms {
		if p.Verified {
			src.Cached = append(src.Cached, p.Platform)
		} else {
			src.Uncached = append(src.Uncached, p.Platform)
		}
	}
	src.State = SourceInline
	if len(src.Cached) == 0 {
		src.State = SourceNoCache
	}
	checked := 0
	for _, want := range platforms {
		if want == "" || want == "local" {
			continue
		}
		checked++
		if !slices.ContainsFunc(src.Cached, func(have string) bool { return samePlatform(have, want) }) {
			src.Missing = append(src.Missing, want)
		}
	}
	if src.State == SourceNoCache {
		// Every platform is missing; saying so twice adds nothing.
		src.Missing = nil
		return src
	}
	src.Importable = checked == 0 || len(src.Missing) < checked
	return src
}

// failed fills in why src could not be read. Not found needs no why: the
// registry's wording of it (the repository exists or not yet) says
// nothing to the user.
func (v *Verifier) failed(ctx context.Context, c *call, r name.Reference, err error, src Source) Source {
	src.State = v.sourceFailure(ctx, r, err)
	if src.State != SourceNotFound {
		src.Error = v.explain(ctx, c, r, err).Error()
	}
	return src
}

// sourceFailure classifies a failure to read a source: not found,
// refused or missing credentials (a credential helper that fails
// included), or anything else.
func (v *Verifier) sourceFailure(ctx context.Context, r name.Reference, err error) SourceState {
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusNotFound:
			return SourceNotFound
		case http.StatusUnauthorized, http.StatusForbidden:
			return SourceDenied
		}
		return SourceUnreachable
	}
	if _, kerr := authn.Resolve(ctx, v.keychain, r.Context().Registry); kerr != nil {
		return SourceDenied
	}
	return SourceUnreachable
}

// samePlatform compares platforms as BuildKit normalises them: arm64 is
// arm64/v8, arm is arm/v7.
func samePlatform(a, b string) bool {
	pa, errA := v1.ParsePlatform(a)
	pb, errB := v1.ParsePlatform(b)
	if errA != nil || errB != nil {
		return a == b
	}
	norm := func(p *v1.Platform) string {
		switch {
		case p.Architecture == "arm64" && p.Variant == "":
			p.Variant = "v8"
		case p.Architecture == "arm" && p.Variant == "":
			p.Variant = "v7"
		}
		return p.OS + "/" + p.Architecture + "/" + p.Variant
	}
	return norm(pa) == norm(pb)
}
