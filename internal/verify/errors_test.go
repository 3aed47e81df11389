package verify_test

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/verify"
)

const (
	fakeHost = "registry.invalid" // reserved: never resolves
	user     = "ci-user"
	password = "s3cret-p4ss"
)

// fakeRegistry is a strict fake of a registry with basic auth: it answers
// the ping with a Basic challenge and the manifest of "app" with 401 unless
// the right credentials come, then with forbidden (403) if forbid is set,
// else 404. Anything else fails the test.
type fakeRegistry struct {
	t      *testing.T
	forbid bool
	// bearer makes it a token registry (as most hosted ones are): the
	// credentials go to /token, which hands out the token the manifest
	// wants.
	bearer bool
	mu     sync.Mutex
	calls  []string
}

func (f *fakeRegistry) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req.Method+" "+req.URL.String())
	f.mu.Unlock()
	if req.URL.Scheme != "https" || req.URL.Host != fakeHost {
		f.t.Errorf("request to %s", req.URL)
		return nil, errors.New("unexpected request")
	}
	resp := func(code int, body string) *http.Response {
		r := &http.Response{StatusCode: code, Status: http.StatusText(code), Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), Request: req}
		r.Header.Set("Content-Type", "application/json")
		if code == http.StatusUnauthorized {
			r.Header.Set("WWW-Authenticate", `Basic realm="fake"`)
			if f.bearer {
				r.Header.Set("WWW-Authenticate", `Bearer realm="https://`+fakeHost+`/token",service="`+fakeHost+`"`)
			}
		}
		return r
	}
	const unauthorized = `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`
	switch {
	case req.URL.Path == "/v2/":
		return resp(http.StatusUnauthorized, unauthorized), nil
	case f.bearer && req.URL.Path == "/token":
		if u, p, ok := req.BasicAuth(); ok && u == user && p == password {
			return resp(http.StatusOK, `{"token":"t0ken"}`), nil
		}
		return resp(http.StatusUnauthorized, unauthorized), nil
	case strings.HasPrefix(req.URL.Path, "/v2/app/manifests/"):
		if f.bearer {
			if req.Header.Get("Authorization") != "Bearer t0ken" {
				return resp(http.StatusUnauthorized, unauthorized), nil
			}
		} else if u, p, ok := req.BasicAuth(); !ok || u != user || p != password {
			return resp(http.StatusUnauthorized, unauthorized), nil
		}
		if f.forbid {
			return resp(http.StatusForbidden, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`), nil
		}
		return resp(http.StatusNotFound, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`), nil
	}
	f.t.Errorf("unexpected request %s %s", req.Method, req.URL)
	return nil, errors.New("unexpected request")
}

type keychainFunc func(authn.Resource) (authn.Authenticator, error)

func (k keychainFunc) Resolve(r authn.Resource) (authn.Authenticator, error) { return k(r) }

func static(u, p string) authn.Keychain {
	return keychainFunc(func(r authn.Resource) (authn.Authenticator, error) {
		if r.RegistryStr() != fakeHost {
			return authn.Anonymous, nil
		}
		return authn.FromConfig(authn.AuthConfig{Username: u, Password: p}), nil
	})
}

var ref = fakeHost + "/app@sha256:" + strings.Repeat("a", 64)

func verifyErr(t *testing.T, opts ...verify.Option) error {
	t.Helper()
	_, err := verify.New(opts...).Verify(context.Background(), ref)
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), password) {
		t.Errorf("the error shows the password: %v", err)
	}
	return err
}

func registryErr(t *testing.T, err error) *verify.RegistryError {
	t.Helper()
	var re *verify.RegistryError
	if !errors.As(err, &re) {
		t.Fatalf("not explained: %v", err)
	}
	if re.Registry != fakeHost {
		t.Errorf("registry = %q", re.Registry)
	}
	// The original error stays underneath for callers that look.
	var te *transport.Error
	if !errors.As(err, &te) {
		t.Errorf("the registry's error is lost: %v", err)
	}
	return re
}

func TestExplainAuthFailures(t *testing.T) {
	tests := []struct {
		name     string
		keychain authn.Keychain
		forbid   bool
		want     []string
		bearer   bool
	}{
		{"no credentials", authn.NewMultiKeychain(), false,
			[]string{"registry registry.invalid: authentication required (401 Unauthorized) to pull app", "the keychain has no credentials", "docker login registry.invalid"}, false},
		{"wrong password", static(user, "wrong-password"), false,
			[]string{"registry registry.invalid: authentication failed (401 Unauthorized): the registry rejected the credentials (user \"ci-user\") from the keychain for app"}, false},
		{"credentials without a user name", static("", "wrong-password"), false,
			[]string{"registry registry.invalid: authentication failed (401 Unauthorized): the registry rejected the credentials from the keychain for app"}, false},
		{"forbidden", static(user, password), true,
			[]string{"registry registry.invalid: access denied (403 Forbidden): the credentials (user \"ci-user\") from the keychain may not pull app"}, false},
		{"token registry, wrong password", static(user, "wrong-password"), false,
			[]string{"registry registry.invalid: authentication failed (401 Unauthorized): the registry rejected the credentials (user \"ci-user\") from the keychain for app"}, true},
		{"token registry, no credentials", authn.NewMultiKeychain(), false,
			[]string{"registry registry.invalid: authentication required (401 Unauthorized) to pull app"}, true},
		{"token registry, forbidden", static(user, password), true,
			[]string{"registry registry.invalid: access denied (403 Forbidden)"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeRegistry{t: t, forbid: tt.forbid, bearer: tt.bearer}
			err := verifyErr(t, verify.WithKeychain(tt.keychain), verify.WithTransport(fake))
			registryErr(t, err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "wrong-password") {
				t.Errorf("the error shows the password")
			}
		})
	}
}

func TestOtherRegistryErrorsAreLeftAlone(t *testing.T) {
	fake := &fakeRegistry{t: t}
	err := verifyErr(t, verify.WithKeychain(static(user, password)), verify.WithTransport(fake))
	var re *verify.RegistryError
	if errors.As(err, &re) {
		t.Errorf("a 404 was explained as %q", re.Msg)
	}
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != http.StatusNotFound {
		t.Errorf("err = %v, want the registry's 404", err)
	}
}

func TestExplainKeychainFailure(t *testing.T) {
	boom := errors.New("helper exploded")
	fail := keychainFunc(func(authn.Resource) (authn.Authenticator, error) { return nil, boom })
	fake := &fakeRegistry{t: t}
	err := verifyErr(t, verify.WithKeychain(fail), verify.WithTransport(fake))
	var re *verify.RegistryError
	if !errors.As(err, &re) || !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if want := "registry registry.invalid: cannot get credentials from the keychain: helper exploded"; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
}

// TestDockerConfigIsNamed uses the default keychain, which reads the
// docker config through docker's own config package: the message names the
// file or the credential helper the user has to fix.
func TestDockerConfigIsNamed(t *testing.T) {
	write := func(t *testing.T, edit func(*configfile.ConfigFile)) string {
		dir := t.TempDir()
		cf := configfile.New(filepath.Join(dir, "config.json"))
		edit(cf)
		if err := cf.Save(); err != nil {
			t.Fatal(err)
		}
		t.Setenv("DOCKER_CONFIG", dir)
		t.Setenv("HOME", t.TempDir())
		t.Setenv("DOCKER_AUTH_CONFIG", "")
		return filepath.Join(dir, "config.json")
	}
	t.Run("auths entry", func(t *testing.T) {
		file := write(t, func(cf *configfile.ConfigFile) {
			cf.AuthConfigs[fakeHost] = types.AuthConfig{Username: user, Password: "wrong-password"}
		})
		err := verifyErr(t, verify.WithTransport(&fakeRegistry{t: t}))
		want := `authentication failed (401 Unauthorized): the registry rejected the credentials (user "ci-user") from the docker config ` + file
		if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "wrong-password") {
			t.Errorf("err = %v, want %q", err, want)
		}
	})
	t.Run("missing credential helper", func(t *testing.T) {
		file := write(t, func(cf *configfile.ConfigFile) {
			cf.CredentialHelpers = map[string]string{fakeHost: "inline-cache-none"}
		})
		t.Setenv("PATH", t.TempDir()) // the helper is nowhere
		err := verifyErr(t, verify.WithTransport(&fakeRegistry{t: t}))
		want := "registry registry.invalid: cannot get credentials from credential helper docker-credential-inline-cache-none (set in " + file + ")"
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	})
}

// tlsRegistry serves an image with inline cache over TLS on loopback, with
// httptest's self-signed certificate.
func tlsRegistry(t *testing.T) (host, ref string, srv *httptest.Server) {
	t.Helper()
	srv = httptest.NewUnstartedServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	host = strings.TrimPrefix(srv.URL, "https://")
	r, err := name.ParseReference(host + "/app:1")
	if err != nil {
		t.Fatal(err)
	}
	img := registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)
	if err := remote.Write(r, img, remote.WithTransport(srv.Client().Transport)); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return host, r.Context().Digest(d.String()).String(), srv
}

func TestTLSTrust(t *testing.T) {
	host, ref, srv := tlsRegistry(t)
	anon := verify.WithKeychain(authn.NewMultiKeychain())
	trusted := x509.NewCertPool()
	trusted.AddCert(srv.Certificate())

	for _, tt := range []struct {
		name string
		opts []verify.Option
		ok   bool
	}{
		{"system roots only", nil, false},
		{"another registry listed insecure", []verify.Option{verify.WithInsecureRegistries([]string{"registry.invalid:" + strings.Split(host, ":")[1]})}, false},
		{"its CA given", []verify.Option{verify.WithRootCAs(trusted)}, true},
		{"listed insecure", []verify.Option{verify.WithInsecureRegistries([]string{host})}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := verify.New(append([]verify.Option{anon}, tt.opts...)...).Verify(context.Background(), ref)
			if tt.ok {
				if err != nil || !rep.Verified() {
					t.Fatalf("err = %v, report = %+v", err, rep)
				}
				return
			}
			var re *verify.RegistryError
			if !errors.As(err, &re) || re.Registry != host {
				t.Fatalf("err = %v, want an explained TLS failure for %s", err, host)
			}
			for _, w := range []string{"TLS certificate not trusted (x509: certificate signed by unknown authority", "registry-ca", "list " + host + " in insecure-registries"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestPlainHTTPServerIsExplained(t *testing.T) {
	// A plain HTTP registry reached over TLS (listed names get TLS first).
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the plain HTTP server was reached: %s", r.URL)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	// Not listed, so the loopback exception would allow plain HTTP; the
	// guard lets it through, the handler fails the test if reached. A
	// transport that refuses http:// keeps the TLS attempt alone.
	tlsOnly := rtFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Scheme != "https" {
			return nil, errors.New("no plain HTTP in this test")
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	_, err := verify.New(verify.WithKeychain(authn.NewMultiKeychain()), verify.WithTransport(tlsOnly)).Verify(context.Background(), host+"/app:1")
	var re *verify.RegistryError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "does not answer TLS") || !strings.Contains(err.Error(), "list "+host+" in insecure-registries") {
		t.Errorf("err = %v", err)
	}
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
