package verify

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
)

func TestRewriteRealm(t *testing.T) {
	for _, tt := range []struct {
		name, registry, realm string
		insecure              []string
		want                  string // "" : left as it is
	}{
		{"loopback registry, loopback realm", "127.0.0.1:5000", "http://127.0.0.1:6000/token?x=1",
			nil, "http://127.0.0.1:5000/.inline-cache-realm/http/127.0.0.1:6000/token?x=1"},
		{"listed registry and realm", "reg.invalid:5000", "https://auth.invalid:8443/t",
			[]string{"reg.invalid:5000", "auth.invalid:8443"}, "http://reg.invalid:5000/.inline-cache-realm/https/auth.invalid:8443/t"},
		{"realm not trusted", "127.0.0.1:5000", "http://10.0.0.1:6000/token", nil, ""},
		{"registry not trusted", "reg.invalid", "http://127.0.0.1:6000/token", nil, ""},
		{"realm on the registry itself", "127.0.0.1:5000", "http://127.0.0.1:5000/token", nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &call{registry: tt.registry, insecure: tt.insecure}
			req, _ := http.NewRequest(http.MethodGet, "http://"+tt.registry+"/v2/", nil)
			resp := &http.Response{Header: http.Header{}}
			challenge := `Bearer realm="` + tt.realm + `",service="s"`
			resp.Header.Set("WWW-Authenticate", challenge)
			c.rewriteRealm(req, resp)
			got := resp.Header.Get("WWW-Authenticate")
			if tt.want == "" {
				if got != challenge {
					t.Errorf("rewritten to %q", got)
				}
				return
			}
			if want := `Bearer realm="` + tt.want + `",service="s"`; got != want {
				t.Fatalf("challenge %q, want %q", got, want)
			}
			// go-containerregistry adds its query to the realm's.
			tok, _ := http.NewRequest(http.MethodGet, tt.want+"&scope=repository%3Aapp%3Apull", nil)
			if !strings.Contains(tt.want, "?") {
				tok, _ = http.NewRequest(http.MethodGet, tt.want+"?scope=repository%3Aapp%3Apull", nil)
			}
			back := c.toRealm(tok)
			if back.URL.Scheme+"://"+back.URL.Host+back.URL.Path != strings.Split(tt.realm, "?")[0] || back.URL.Query().Get("scope") != "repository:app:pull" || back.Host != back.URL.Host {
				t.Errorf("token request sent to %s (Host %s)", back.URL, back.Host)
			}
		})
	}
	// A path that only looks routed is left alone on another host, or
	// when it names an untrusted one.
	c := &call{registry: "127.0.0.1:5000"}
	for _, u := range []string{"http://127.0.0.1:7000" + realmPrefix + "http/127.0.0.1:6000/t", "http://127.0.0.1:5000" + realmPrefix + "http/10.0.0.1:6000/t"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if got := c.toRealm(req); got != req {
			t.Errorf("%s sent on to %s", u, got.URL)
		}
	}
}

// TestUntrustedRealmExplained: a registry that names a token service on a
// private address is refused (by go-containerregistry), with why and what
// to do. A strict fake: nothing is sent anywhere.
func TestUntrustedRealmExplained(t *testing.T) {
	var sent []string
	tr := rtFunc(func(req *http.Request) (*http.Response, error) {
		sent = append(sent, req.URL.String())
		if req.URL.String() != "https://registry.invalid/v2/" {
			t.Errorf("request to %s", req.URL)
			return nil, errors.New("unexpected request")
		}
		resp := &http.Response{StatusCode: http.StatusUnauthorized, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}")), Request: req}
		resp.Header.Set("WWW-Authenticate", `Bearer realm="http://10.0.0.1:5000/token",service="s"`)
		return resp, nil
	})
	v := New(WithKeychain(authn.NewMultiKeychain()), WithTransport(tr))
	_, err := v.Verify(context.Background(), "registry.invalid/app@sha256:"+strings.Repeat("a", 64))
	var re *RegistryError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want it explained", err)
	}
	for _, w := range []string{"registry registry.invalid:", "http://10.0.0.1:5000/token", "insecure-registries", "serve the token service at registry.invalid"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
	if len(sent) != 1 {
		t.Errorf("requests %q, want the ping alone", sent)
	}
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
