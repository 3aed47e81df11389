package verify

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// WithRootCAs sets the certificates trusted for registry TLS. The default
// is the system's roots; a registry-ca input passes them plus its own.
func WithRootCAs(pool *x509.CertPool) Option { return func(v *Verifier) { v.roots = pool } }

// newTransport is the transport a Verifier uses unless one is given: TLS
// verified against roots (nil: the system's), except to the registries in
// insecure, whose certificates are accepted unverified — what docker and
// BuildKit do for an insecure registry. That exception is per host: a
// redirect elsewhere (blob storage) is verified as usual. Plain HTTP is
// guarded separately (plainHTTPGuard), on top of whatever transport is used.
//
// Its time bound (lim.connect) covers the TCP connect and the TLS
// handshake; the retrier bounds each attempt as a whole.
func newTransport(insecure []string, roots *x509.CertPool, lim limits) http.RoundTripper {
	base := remote.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	base.DialContext = (&net.Dialer{Timeout: lim.connect, KeepAlive: 30 * time.Second}).DialContext
	base.TLSHandshakeTimeout = lim.connect
	if len(insecure) == 0 {
		return base
	}
	skip := base.Clone()
	skip.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // only for registries the user listed as insecure
	return &perHostTLS{verified: base, unverified: skip, insecure: slices.Clone(insecure)}
}

// perHostTLS sends requests to insecure registries through a transport
// that skips certificate verification and all others through one that
// verifies.
type perHostTLS struct {
	verified, unverified http.RoundTripper
	insecure             []string
}

func (p *perHostTLS) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "https" && slices.Contains(p.insecure, req.URL.Host) {
		return p.unverified.RoundTrip(req)
	}
	return p.verified.RoundTrip(req)
}
