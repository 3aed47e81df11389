// Package verify proves from the registry that a pushed image carries usable
// inline cache: it fetches the image by digest, every platform manifest of an
// index (attestations aside) and each config, and checks the cache metadata.
package verify

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/moby/buildkit/util/attestation"

	"github.com/inlinecache/action/internal/cachemeta"
)

// Report is the verdict on one pushed image.
type Report struct {
	Ref       string     `json:"ref"`
	Digest    string     `json:"digest"`
	MediaType string     `json:"mediaType"`
	Platforms []Platform `json:"platforms"`
	// RegistryCache is set when ref names a cache exported with
	// --cache-to type=registry rather than an image with inline cache;
	// Explanation then says what that means, and Cache is the verdict on
	// it (nil when it was only recognised, as a cache source is).
	RegistryCache bool           `json:"registryCache,omitempty"`
	Explanation   string         `json:"explanation,omitempty"`
	Cache         *CacheManifest `json:"cache,omitempty"`
}

// Platform is the verdict on one platform image.
type Platform struct {
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
	cachemeta.Summary
	// LayerDigests are the image's layers, bottom first, to compare with
	// the layers of a registry cache (CacheManifest.Layers).
	LayerDigests []string `json:"layerDigests,omitempty"`
	// Error says why the cache could not be read at all.
	Error string `json:"error,omitempty"`
	// Unreadable says the platform's manifest or config could not be
	// read (Error says why), so whether it carries cache is unknown; an
	// image read whole that has no or broken cache is not Unreadable.
	Unreadable bool `json:"unreadable,omitempty"`
	Verified   bool `json:"verified"`
}

// Verified reports whether every platform image carries valid cache, or
// for a registry cache, whether it was checked and is valid.
func (r Report) Verified() bool {
	if r.RegistryCache {
		return r.Cache != nil && r.Cache.Verified
	}
	return len(r.Platforms) > 0 && !slices.ContainsFunc(r.Platforms, func(p Platform) bool { return !p.Verified })
}

// Failures describes each platform that failed, by name, or what is
// wrong with a registry cache.
func (r Report) Failures() []string {
	var out []string
	for _, p := range r.Platforms {
		switch {
		case p.Verified:
		case p.Error != "":
			out = append(out, fmt.Sprintf("%s: %s", p.Platform, p.Error))
		default:
			out = append(out, fmt.Sprintf("%s: %s", p.Platform, strings.Join(p.Problems, "; ")))
		}
	}
	switch {
	case r.RegistryCache && r.Cache == nil:
		out = append(out, fmt.Sprintf("registry cache %s: not checked", r.Ref))
	case r.RegistryCache:
		for _, f := range r.Cache.Failures() {
			out = append(out, fmt.Sprintf("registry cache %s: %s", r.Ref, f))
		}
	case len(r.Platforms) == 0:
		out = append(out, fmt.Sprintf("%s: no platform image found", r.Ref))
	}
	return out
}

// Verifier reads images from registries.
type Verifier struct {
	keychain  authn.Keychain
	transport http.RoundTripper
	pings     *pingMemo     // under every call's retrier; see memo.go
	creds     *memoKeychain // keychain, looked up once per registry
	insecure  []string
	roots     *x509.CertPool // see transport.go
	lim       limits         // see retry.go
}

// Option configures a Verifier.
type Option func(*Verifier)

// WithKeychain sets where credentials come from (default: the docker config).
func WithKeychain(k authn.Keychain) Option { return func(v *Verifier) { v.keychain = k } }

// WithTransport sets the HTTP transport (default: newTransport, which
// verifies TLS except for insecure registries).
func WithTransport(t http.RoundTripper) Option { return func(v *Verifier) { v.transport = t } }

// WithInsecureRegistries lists registries (host[:port]) that may be reached
// over plain HTTP. Loopback registries always may.
func WithInsecureRegistries(regs []string) Option {
	return func(v *Verifier) { v.insecure = append(v.insecure, regs...) }
}

// New returns a Verifier.
func New(opts ...Option) *Verifier {
	v := &Verifier{keychain: authn.DefaultKeychain, lim: defaultLimits}
	for _, o := range opts {
		o(v)
	}
	if v.transport == nil {
		v.transport = newTransport(v.insecure, v.roots, v.lim)
	}
	v.creds = &memoKeychain{next: v.keychain}
	v.pings = &pingMemo{next: v.transport}
	return v
}

// ParseReference parses ref, marking listed registries insecure.
func (v *Verifier) ParseReference(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	if slices.Contains(v.insecure, r.Context().RegistryStr()) {
		return name.ParseReference(ref, name.Insecure)
	}
	return r, nil
}

// begin starts one call on r: its deadline (WithTimeout) and the options
// for go-containerregistry, whose own retries are off: the retrier below
// retries what is worth it, within the deadline, and names what failed.
func (v *Verifier) begin(ctx context.Context, r name.Reference) (context.Context, context.CancelFunc, *call, []remote.Option) {
	ctx, cancel := context.WithTimeoutCause(ctx, v.lim.timeout, errVerifyDeadline)
	c := &call{registry: r.Context().RegistryStr(), insecure: v.insecure, lim: v.lim}
	return ctx, cancel, c, []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(v.creds),
		remote.WithTransport(v.chain(c)),
		remote.WithRetryStatusCodes(),
		remote.WithRetryPredicate(func(error) bool { return false }),
	}
}

// beginRef parses ref and begins a call on it; the error names ref. The
// cancel it returns is to be deferred only when there is no error.
func (v *Verifier) beginRef(ctx context.Context, ref string) (name.Reference, context.Context, context.CancelFunc, *call, []remote.Option, error) {
	r, err := v.ParseReference(ref)
	if err != nil {
		return nil, ctx, nil, nil, nil, fmt.Errorf("parse %q: %w", ref, err)
	}
	ctx, cancel, c, opts := v.begin(ctx, r)
	return r, ctx, cancel, c, opts, nil
}

// chain is the transport of one call: the plain-HTTP guard, the call's
// retrier, the Verifier's ping memo, then the network.
func (v *Verifier) chain(c *call) http.RoundTripper {
	return &plainHTTPGuard{next: &retrier{next: v.pings, c: c}, allowed: v.insecure}
}

// Warm pings the registry of ref and looks up its credentials, so that a
// later Verify, Exists or Tag there starts with both known (memo.go). It
// is meant to run beside the build; it is bounded like a call, and what
// fails here is left for the call itself to meet and report.
func (v *Verifier) Warm(ctx context.Context, ref string) {
	r, ctx, cancel, c, _, err := v.beginRef(ctx, ref)
	if err != nil {
		return
	}
	defer cancel()
	_, _ = v.creds.ResolveContext(ctx, r.Context())
	_, _ = transport.Ping(ctx, r.Context().Registry, v.chain(c))
}

// Verify checks the image at ref, which should name a digest.
func (v *Verifier) Verify(ctx context.Context, ref string) (Report, error) {
	r, ctx, cancel, c, opts, err := v.beginRef(ctx, ref)
	if err != nil {
		return Report{}, err
	}
	defer cancel()
	rep := Report{Ref: r.String()}
	// One puller for the call: the index and every platform read share
	// its authenticated transport (one ping, one token).
	p, err := remote.NewPuller(append(opts, remote.WithJobs(maxFetchConcurrency))...)
	if err != nil {
		return rep, fmt.Errorf("fetch %s: %w", r, err)
	}
	desc, err := p.Get(ctx, r)
	if err != nil {
		return rep, fmt.Errorf("fetch %s: %w", r, v.explain(ctx, c, r, err))
	}
	rep.Digest = desc.Digest.String()
	rep.MediaType = string(desc.MediaType)

	if err := v.check(ctx, c, p, r, desc, &rep, true); err != nil {
		return rep, err
	}
	return rep, nil
}

// Exists checks that ref resolves in its registry, for the other
// repositories a build pushed the same digest to.
func (v *Verifier) Exists(ctx context.Context, ref string) error {
	r, ctx, cancel, c, opts, err := v.beginRef(ctx, ref)
	if err != nil {
		return err
	}
	defer cancel()
	if _, err := head(r, opts...); err != nil {
		return fmt.Errorf("look up %s: %w", r, v.explain(ctx, c, r, err))
	}
	return nil
}

// IsAttestation tells BuildKit's attestation manifests (provenance, SBOM)
// apart from platform images: they carry no cache and are not run.
func IsAttestation(d v1.Descriptor) bool {
	if _, ok := d.Annotations[attestation.DockerAnnotationReferenceType]; ok {
		return true
	}
	return d.Platform != nil && d.Platform.OS == "unknown" && d.Platform.Architecture == "unknown"
}

func platformString(p *v1.Platform) string {
	if p == nil || p.OS == "" {
		return "unknown"
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// plainHTTPGuard refuses plain HTTP except to loopback or listed registries:
// go-containerregistry would otherwise also fall back to HTTP for private
// network addresses, where credentials would cross the network in clear.
type plainHTTPGuard struct {
	next    http.RoundTripper
	allowed []string
}

func (g *plainHTTPGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !isLoopback(req.URL.Hostname()) && !slices.Contains(g.allowed, req.URL.Host) {
		return nil, &plainHTTPRefused{host: req.URL.Host}
	}
	return g.next.RoundTrip(req)
}

// plainHTTPRefused is the guard's refusal: never retried.
type plainHTTPRefused struct{ host string }

func (e *plainHTTPRefused) Error() string {
	return fmt.Sprintf("refusing plain HTTP to %s: list it in insecure-registries to allow it", e.host)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
