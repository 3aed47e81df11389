package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// RegistryError is a registry failure explained: which registry, what went
// wrong in words a user can act on, and the original error underneath.
// It never carries a credential: only whether there was one, whose user
// name, and where it came from.
type RegistryError struct {
	Registry string
	Msg      string
	Err      error
}

func (e *RegistryError) Error() string { return fmt.Sprintf("registry %s: %s", e.Registry, e.Msg) }
func (e *RegistryError) Unwrap() error { return e.Err }

// explain maps the failures users meet with registries to messages they
// can act on: bad or missing credentials, an untrusted certificate, a
// registry without TLS (a *RegistryError); a request that failed for good
// (a *ReadError, naming the object, status, attempts and time). For a
// registry that may speak plain HTTP, go-containerregistry races the ping
// over https and http and joins both failures: when the plain HTTP ping
// got an answer (a status) or failed transiently, that is the real
// failure and no TLS advice is given. Anything else is returned as it is.
func (v *Verifier) explain(ctx context.Context, c *call, ref name.Reference, err error) error {
	reg := ref.Context().Registry
	host := reg.RegistryStr()
	re := func(format string, a ...any) error {
		return &RegistryError{Registry: host, Msg: fmt.Sprintf(format, a...), Err: err}
	}
	if already := (*RegistryError)(nil); errors.As(err, &already) {
		return err
	}

	if reason, ok := tlsTrustFailure(err); ok {
		return re("TLS certificate not trusted (%s). If the registry uses a private CA, give its certificate in registry-ca; "+
			"to skip TLS verification for this registry alone, list %s in insecure-registries", reason, host)
	}
	if strings.Contains(err.Error(), "invalid realm in www-authenticate") {
		return re("the registry sends clients for a token to %s, another address than its own (%v). "+
			"A token service on a private, loopback or link-local address other than the registry's own host:port is refused, "+
			"so that a registry cannot point credentials at an internal service, unless both the registry and the token service "+
			"are loopback or listed in insecure-registries: list both, or serve the token service at %s or on a public address",
			c.tokenRealm(), err, host)
	}

	if strings.Contains(err.Error(), "error verifying sha256 checksum") || strings.Contains(err.Error(), "does not match requested digest") {
		// Bytes other than the digest names: retrying would not help.
		return fmt.Errorf("digest mismatch, not retried: %w", err)
	}
	var refused *plainHTTPRefused
	if errors.As(err, &refused) {
		return re("%v (the TLS attempt: %v)", refused, err)
	}

	var te *transport.Error
	if errors.As(err, &te) {
		// Which request was refused: the ping, the token service, a
		// manifest or a blob.
		at := ""
		if te.Request != nil {
			at = "; refused: " + describe(te.Request)
		}
		switch te.StatusCode {
		case http.StatusUnauthorized:
			who, found := v.credentialUser(ctx, reg)
			if !found {
				return re("authentication required (401 Unauthorized) to pull %s, and %s has no credentials for it: log in first "+
					"(docker login %s, or docker/login-action in a workflow)%s", ref.Context().RepositoryStr(), v.credentialSource(host), host, at)
			}
			return re("authentication failed (401 Unauthorized): the registry rejected the credentials%s from %s for %s; "+
				"check the password or token (docker login %s)%s", who, v.credentialSource(host), ref.Context().RepositoryStr(), host, at)
		case http.StatusForbidden:
			who, _ := v.credentialUser(ctx, reg)
			verb := "pull"
			if te.Request != nil && te.Request.Method != http.MethodGet && te.Request.Method != http.MethodHead {
				verb = "push to"
			}
			return re("access denied (403 Forbidden): the credentials%s from %s may not %s %s%s%s", who, v.credentialSource(host), verb, ref.Context().RepositoryStr(), at, registrySays(te))
		}
	}
	if p := c.plainPingFailure(); p != nil {
		var status *transport.Error
		if errors.As(err, &status) && p.Status != "" {
			// The registry's own answer, with its error body.
			return fmt.Errorf("%s: %w", p, status)
		}
		return p
	}
	// net/http turns the TLS record error into a message of its own when
	// the answer looks like HTTP; it has no type to match.
	if rh := (tls.RecordHeaderError{}); errors.As(err, &rh) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return re("does not answer TLS (it may speak plain HTTP only); list %s in insecure-registries to allow plain HTTP to it", host)
	}
	var rd *ReadError
	if errors.As(err, &rd) {
		return rd
	}
	if te != nil && te.Request != nil {
		// Another status (404, say): named, the registry's words kept.
		return fmt.Errorf("registry %s: %s %s: %d %s: %w", host, verb(te.Request.Method), describe(te.Request), te.StatusCode, http.StatusText(te.StatusCode), err)
	}
	if te != nil {
		return err
	}
	// A keychain that fails (a credential helper that is missing or
	// errors) fails the request before it is sent; say so.
	if _, kerr := authn.Resolve(ctx, v.creds, reg); kerr != nil {
		return re("cannot get credentials from %s: %v", v.credentialSource(host), kerr)
	}
	return err
}

// tlsTrustFailure finds a certificate verification failure in err and
// returns its reason.
func tlsTrustFailure(err error) (string, bool) {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &unknown):
		return unknown.Error(), true
	case errors.As(err, &hostname):
		return hostname.Error(), true
	case errors.As(err, &invalid):
		return invalid.Error(), true
	case errors.As(err, &verify):
		return verify.Err.Error(), true
	}
	return "", false
}

// credentialUser reports whether the keychain has credentials for reg and,
// if they name a user, ` (user "name")` for the message.
func (v *Verifier) credentialUser(ctx context.Context, reg name.Registry) (string, bool) {
	a, err := authn.Resolve(ctx, v.creds, reg)
	if err != nil || a == authn.Anonymous {
		return "", false
	}
	cfg, err := authn.Authorization(ctx, a)
	if err != nil || *cfg == (authn.AuthConfig{}) {
		return "", false
	}
	if cfg.Username == "" || cfg.Username == "<token>" {
		return "", true
	}
	return fmt.Sprintf(" (user %q)", cfg.Username), true
}

// credentialSource names where the default keychain looks for host's
// credentials: the credential helper the docker config names for it, or
// the config file itself. A keychain of the caller's is just "the keychain".
func (v *Verifier) credentialSource(host string) string {
	if v.keychain != authn.DefaultKeychain {
		return "the keychain"
	}
	cf, err := config.Load(os.Getenv("DOCKER_CONFIG"))
	if err != nil {
		return "the docker config"
	}
	helper := cf.CredentialHelpers[host]
	if helper == "" {
		helper = cf.CredentialsStore
	}
	if helper != "" {
		return fmt.Sprintf("credential helper docker-credential-%s (set in %s)", helper, cf.Filename)
	}
	return "the docker config " + cf.Filename
}

// registrySays is what the registry said about a refusal, in its own
// words (a policy such as immutable tags names itself only there).
func registrySays(te *transport.Error) string {
	var said []string
	for _, d := range te.Errors {
		if d.Message != "" {
			said = append(said, fmt.Sprintf("%s: %s", d.Code, d.Message))
		}
	}
	if len(said) == 0 {
		return ""
	}
	return "; the registry says: " + strings.Join(said, "; ")
}
