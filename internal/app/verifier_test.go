package app

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/inlinecache/action/internal/verify"
)

func TestRegistryCAIsCheckedBeforeTheBuild(t *testing.T) {
	t.Parallel()
	f := &fakeBuildx{t: t}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	r := runApp(t, f, map[string]string{"tags": "127.0.0.1:1/app:1", "push": "true", "registry-ca": missing}, nil)
	if r.code != ExitUsage {
		t.Errorf("exit %d, want %d", r.code, ExitUsage)
	}
	if f.builds() != 0 {
		t.Errorf("ran %q before rejecting registry-ca", f.calls)
	}
	if !strings.Contains(r.stdout, `::error title=Invalid input::input "registry-ca": cannot read CA file "`+missing+`"`) {
		t.Errorf("no error naming registry-ca and the file:\n%s", r.stdout)
	}
}

// sentURLs is a transport that records each request and sends none.
type sentURLs struct {
	mu   sync.Mutex
	urls []string
}

func (s *sentURLs) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.urls = append(s.urls, r.URL.String())
	return nil, errors.New("not sent")
}

func (s *sentURLs) plain() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, u := range s.urls {
		if strings.HasPrefix(u, "http://") {
			out = append(out, u)
		}
	}
	return out
}

// TestInsecureRegistriesReachVerification: the insecure-registries input,
// as a flag or INPUT_ variable, is what lets plain HTTP through to a
// non-loopback registry. 10.0.0.1 is private, so go-containerregistry alone
// would try plain HTTP; the fake transport shows what would be sent.
func TestInsecureRegistriesReachVerification(t *testing.T) {
	t.Parallel()
	const ref = "10.0.0.1:5000/app@sha256:0123456789012345678901234567890123456789012345678901234567890123"
	run := func(getenv map[string]string, args ...string) (*sentURLs, int, string) {
		tr := &sentURLs{}
		var out strings.Builder
		e := Env{
			Getenv: func(k string) string { return getenv[k] }, Stdout: &out, Stderr: &out,
			Exec:          (&fakeBuildx{t: t}).exec,
			VerifyOptions: []verify.Option{verify.WithKeychain(authn.NewMultiKeychain()), verify.WithTransport(tr)},
		}
		code := Main(context.Background(), append([]string{"verify"}, args...), e)
		return tr, code, out.String()
	}

	tr, code, out := run(nil, ref)
	if code != ExitFailed || len(tr.plain()) != 0 || !strings.Contains(out, "list it in insecure-registries") {
		t.Errorf("unlisted: exit %d, plain HTTP %q\n%s", code, tr.plain(), out)
	}
	tr, _, _ = run(nil, "--insecure-registries", "10.0.0.1:5000", ref)
	if p := tr.plain(); len(p) == 0 || !strings.HasPrefix(p[0], "http://10.0.0.1:5000/v2/") {
		t.Errorf("listed by flag: plain HTTP %q, want the ping", p)
	}
	tr, _, _ = run(map[string]string{"INPUT_INSECURE-REGISTRIES": "other.invalid\n10.0.0.1:5000"}, ref)
	if len(tr.plain()) == 0 {
		t.Errorf("listed by input: no plain HTTP attempt")
	}
	tr, _, _ = run(nil, "--insecure-registries", "10.0.0.2:5000", ref)
	if len(tr.plain()) != 0 {
		t.Errorf("another registry listed: plain HTTP %q", tr.plain())
	}
}
