package verify_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/verify"
)

func newVerifier() *verify.Verifier {
	return verify.New(verify.WithKeychain(authn.NewMultiKeychain()))
}

func TestSingleImage(t *testing.T) {
	reg := registrytest.Serve(t)
	ref := registrytest.Push(t, reg+"/app:1", registrytest.Image(t, "linux/amd64", 3, registrytest.Valid))

	rep, err := newVerifier().Verify(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Verified() || len(rep.Platforms) != 1 {
		t.Fatalf("report = %+v", rep)
	}
	p := rep.Platforms[0]
	if p.Platform != "linux/amd64" || p.Records != 4 || p.RecordsWithLayers != 3 || p.LayersCovered != 3 || p.LayersTotal != 3 {
		t.Errorf("platform = %+v", p)
	}
	if !strings.HasSuffix(ref, rep.Digest) {
		t.Errorf("digest %s is not the one pushed (%s)", rep.Digest, ref)
	}
}

func TestImageWithoutCache(t *testing.T) {
	reg := registrytest.Serve(t)
	ref := registrytest.Push(t, reg+"/app:1", registrytest.Image(t, "linux/arm64/v8", 2, registrytest.None))
	rep, err := newVerifier().Verify(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verified() {
		t.Fatal("image without cache verified")
	}
	f := strings.Join(rep.Failures(), "\n")
	if !strings.Contains(f, "linux/arm64/v8") || !strings.Contains(f, "pushed without inline cache") {
		t.Errorf("failures = %q", f)
	}
}

func TestIndexNamesTheFailingPlatformAndSkipsAttestations(t *testing.T) {
	reg := registrytest.Serve(t)
	ref := registrytest.PushIndex(t, reg+"/app:multi",
		registrytest.Image(t, "linux/amd64", 3, registrytest.Valid),
		registrytest.Image(t, "linux/386", 3, registrytest.Corrupt),
	)
	rep, err := newVerifier().Verify(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Platforms) != 2 {
		t.Fatalf("platforms = %+v, want amd64 and 386 only (attestations skipped)", rep.Platforms)
	}
	if rep.Verified() {
		t.Fatal("index with a corrupt platform verified")
	}
	if !rep.Platforms[0].Verified || rep.Platforms[1].Verified {
		t.Errorf("verdicts = %+v", rep.Platforms)
	}
	f := rep.Failures()
	if len(f) != 1 || !strings.HasPrefix(f[0], "linux/386: ") || !strings.Contains(f[0], "out of range") {
		t.Errorf("failures = %q", f)
	}
}

func TestIndexAllValid(t *testing.T) {
	reg := registrytest.Serve(t)
	ref := registrytest.PushIndex(t, reg+"/app:multi",
		registrytest.Image(t, "linux/amd64", 2, registrytest.Valid),
		registrytest.Image(t, "linux/arm64", 4, registrytest.Valid),
	)
	rep, err := newVerifier().Verify(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Verified() {
		t.Errorf("failures: %q", rep.Failures())
	}
}

func TestMissingImage(t *testing.T) {
	reg := registrytest.Serve(t)
	v := newVerifier()
	_, err := v.Verify(context.Background(), reg+"/nope@sha256:"+strings.Repeat("a", 64))
	if err == nil || !strings.Contains(err.Error(), "fetch") {
		t.Errorf("err = %v", err)
	}
	if err := v.Exists(context.Background(), reg+"/nope:1"); err == nil {
		t.Error("Exists found a missing image")
	}
	ref := registrytest.Push(t, reg+"/app:1", registrytest.Image(t, "linux/amd64", 1, registrytest.Valid))
	if err := v.Exists(context.Background(), ref); err != nil {
		t.Errorf("Exists: %v", err)
	}
}

// roundTripFunc lets a test see what reaches the network.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestPlainHTTPOnlyToLoopbackOrListed(t *testing.T) {
	var sent []string
	tr := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent = append(sent, r.URL.String())
		return nil, http.ErrServerClosed
	})
	// 10.0.0.1 is private: go-containerregistry alone would fall back to
	// plain HTTP for it. Nothing is sent: the fake transport records it.
	v := verify.New(verify.WithKeychain(authn.NewMultiKeychain()), verify.WithTransport(tr))
	_, err := v.Verify(context.Background(), "10.0.0.1:5000/app@sha256:"+strings.Repeat("a", 64))
	if err == nil {
		t.Fatal("no error")
	}
	for _, u := range sent {
		if strings.HasPrefix(u, "http://") {
			t.Errorf("plain HTTP request reached the transport: %s", u)
		}
	}
	if !strings.Contains(err.Error(), "insecure-registries") {
		t.Errorf("error does not say how to allow it: %v", err)
	}

	sent = nil
	v = verify.New(verify.WithKeychain(authn.NewMultiKeychain()), verify.WithTransport(tr), verify.WithInsecureRegistries([]string{"10.0.0.1:5000"}))
	_, _ = v.Verify(context.Background(), "10.0.0.1:5000/app@sha256:"+strings.Repeat("a", 64))
	plain := false
	for _, u := range sent {
		plain = plain || strings.HasPrefix(u, "http://10.0.0.1:5000/")
	}
	if !plain {
		t.Errorf("listed registry was not tried over plain HTTP: %q", sent)
	}
}
