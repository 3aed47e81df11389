package verify_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/inlinecache/action/internal/fixtures"
	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/verify"
)

// pushFixture pushes a captured real-builder image to reg/repo and
// returns its ref by digest.
func pushFixture(t *testing.T, reg, repo, fixture string) string {
	t.Helper()
	f, err := fixtures.Load(filepath.Join("..", "..", "testdata", "cachemeta", "buildkit-v0.34.2", fixture))
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.NewRepository(reg + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := f.Push(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestCheckSource(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	valid := registrytest.Push(t, reg+"/app:main", registrytest.Image(t, "linux/amd64", 3, registrytest.Valid))
	none := registrytest.Push(t, reg+"/app:plain", registrytest.Image(t, "linux/amd64", 2, registrytest.None))
	arm := registrytest.Push(t, reg+"/app:arm", registrytest.Image(t, "linux/arm64/v8", 2, registrytest.Valid))
	mixed := registrytest.PushIndex(t, reg+"/app:mixed",
		registrytest.Image(t, "linux/amd64", 3, registrytest.Valid),
		registrytest.Image(t, "linux/386", 3, registrytest.Corrupt),
	)
	cache := pushFixture(t, reg, "app", "registry-cache")
	multi := pushFixture(t, reg, "multi", "multi-platform")

	tests := []struct {
		name      string
		ref       string
		platforms []string
		want      verify.Source
		warns     bool
		says      string
	}{
		{"tag never pushed", reg + "/app:pr-7", []string{"linux/amd64"},
			verify.Source{State: verify.SourceNotFound}, false, "not found (nothing pushed there yet"},
		{"repository never pushed", reg + "/nothing:main", nil,
			verify.Source{State: verify.SourceNotFound}, false, "not found"},
		{"inline cache", valid, []string{"linux/amd64"},
			verify.Source{State: verify.SourceInline, Cached: []string{"linux/amd64"}, Importable: true}, false, "inline cache for linux/amd64"},
		{"inline cache, platform unknown", valid, []string{"local"},
			verify.Source{State: verify.SourceInline, Cached: []string{"linux/amd64"}, Importable: true}, false, "inline cache for linux/amd64"},
		{"no cache metadata", none, []string{"linux/amd64"},
			verify.Source{State: verify.SourceNoCache, Uncached: []string{"linux/amd64"}}, true, "an image without cache metadata (linux/amd64): importing it imports nothing"},
		{"arm64 is arm64/v8", arm, []string{"linux/arm64"},
			verify.Source{State: verify.SourceInline, Cached: []string{"linux/arm64/v8"}, Importable: true}, false, "inline cache for linux/arm64/v8"},
		{"another platform only", valid, []string{"linux/arm64"},
			verify.Source{State: verify.SourceInline, Cached: []string{"linux/amd64"}, Missing: []string{"linux/arm64"}}, true, "nothing for linux/arm64, being built: those platforms import nothing from it"},
		{"index with a platform short", mixed, []string{"linux/amd64", "linux/386", "linux/arm64"},
			verify.Source{State: verify.SourceInline, Cached: []string{"linux/amd64"}, Uncached: []string{"linux/386"}, Missing: []string{"linux/386", "linux/arm64"}, Importable: true}, true,
			"inline cache for linux/amd64; none for linux/386; nothing for linux/386, linux/arm64, being built"},
		{"registry cache manifest", cache, []string{"linux/amd64"},
			verify.Source{State: verify.SourceRegistryCache, Importable: true}, false, "registry cache manifest (application/vnd.buildkit.cacheconfig.v0)"},
		{"real multi-platform build", multi, []string{"linux/amd64", "linux/386"},
			verify.Source{State: verify.SourceInline, Cached: []string{"linux/amd64", "linux/386"}, Importable: true}, false, "inline cache for linux/amd64, linux/386"},
		{"not a reference", "Bad Ref", nil,
			verify.Source{State: verify.SourceUnreachable}, true, "not a valid reference"},
	}
	v := newVerifier()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := v.CheckSource(context.Background(), tt.ref, tt.platforms)
			if tt.want.State != verify.SourceNotFound && tt.want.State != verify.SourceUnreachable && !strings.HasPrefix(got.Digest, "sha256:") {
				t.Errorf("digest = %q", got.Digest)
			}
			if !strings.Contains(got.Message(), tt.says) {
				t.Errorf("message = %q, want it to say %q", got.Message(), tt.says)
			}
			if got.Warns() != tt.warns {
				t.Errorf("warns = %v", got.Warns())
			}
			got.Digest, got.Error = "", ""
			tt.want.Ref = tt.ref
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// Failures to read a source are named as verify names them.
func TestCheckSourceFailures(t *testing.T) {
	t.Parallel()
	boom := errors.New("helper exploded")
	for _, tt := range []struct {
		name  string
		opts  func(t *testing.T) []verify.Option
		state verify.SourceState
		says  string
	}{
		{"wrong password", func(t *testing.T) []verify.Option {
			return []verify.Option{verify.WithKeychain(static(user, "wrong-password")), verify.WithTransport(&fakeRegistry{t: t})}
		}, verify.SourceDenied, `authentication failed (401 Unauthorized): the registry rejected the credentials (user "ci-user")`},
		{"no credentials", func(t *testing.T) []verify.Option {
			return []verify.Option{verify.WithKeychain(authn.NewMultiKeychain()), verify.WithTransport(&fakeRegistry{t: t, bearer: true})}
		}, verify.SourceDenied, "authentication required (401 Unauthorized) to pull app"},
		{"forbidden", func(t *testing.T) []verify.Option {
			return []verify.Option{verify.WithKeychain(static(user, password)), verify.WithTransport(&fakeRegistry{t: t, forbid: true})}
		}, verify.SourceDenied, "access denied (403 Forbidden)"},
		{"credential helper fails", func(t *testing.T) []verify.Option {
			return []verify.Option{verify.WithKeychain(keychainFunc(func(authn.Resource) (authn.Authenticator, error) { return nil, boom })), verify.WithTransport(&fakeRegistry{t: t})}
		}, verify.SourceDenied, "cannot get credentials from the keychain: helper exploded"},
		{"not found behind credentials", func(t *testing.T) []verify.Option {
			return []verify.Option{verify.WithKeychain(static(user, password)), verify.WithTransport(&fakeRegistry{t: t})}
		}, verify.SourceNotFound, "not found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := verify.New(tt.opts(t)...).CheckSource(context.Background(), fakeHost+"/app:main", []string{"linux/amd64"})
			if src.State != tt.state || !strings.Contains(src.Message(), tt.says) || src.Importable {
				t.Errorf("got %+v\nmessage %q, want state %s saying %q", src, src.Message(), tt.state, tt.says)
			}
			if strings.Contains(src.Message(), password) || strings.Contains(src.Message(), "wrong-password") {
				t.Errorf("the message shows a password: %q", src.Message())
			}
		})
	}
}

func TestCheckSourceServerError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"database on fire"}]}`, http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/app:main"
	v := verify.New(verify.WithKeychain(authn.NewMultiKeychain()), verify.WithRetries(2, time.Millisecond, time.Millisecond, time.Millisecond))
	src := v.CheckSource(context.Background(), ref, nil)
	if src.State != verify.SourceUnreachable || !src.Warns() || !strings.Contains(src.Message(), "cannot be read") || !strings.Contains(src.Error, "500 Internal Server Error (2 attempts") {
		t.Errorf("got %+v (%s)", src, src.Message())
	}
}

// CheckSources keeps the order given, whatever order the answers come in.
func TestCheckSourcesKeepsOrder(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	a := registrytest.Push(t, reg+"/app:a", registrytest.Image(t, "linux/amd64", 1, registrytest.Valid))
	b := registrytest.Push(t, reg+"/app:b", registrytest.Image(t, "linux/amd64", 1, registrytest.None))
	refs := []string{reg + "/app:gone", a, b, reg + "/app:gone2"}
	got := newVerifier().CheckSources(context.Background(), refs, []string{"linux/amd64"})
	var states []verify.SourceState
	for i, s := range got {
		if s.Ref != refs[i] {
			t.Errorf("source %d is %s, want %s", i, s.Ref, refs[i])
		}
		states = append(states, s.State)
	}
	want := []verify.SourceState{verify.SourceNotFound, verify.SourceInline, verify.SourceNoCache, verify.SourceNotFound}
	if !reflect.DeepEqual(states, want) {
		t.Errorf("states = %v, want %v", states, want)
	}
}
