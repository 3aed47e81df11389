package verify_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/verify"
)

// counting records every request that reaches the registry, by kind.
type counting struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen map[string]int
	// inFlight and maxInFlight measure how many requests overlap.
	inFlight, maxInFlight atomic.Int32
	delay                 time.Duration
}

func (c *counting) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = map[string]int{}
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	kind := "other"
	switch {
	case r.URL.Path == "/v2/":
		kind = "ping"
	case strings.Contains(r.URL.Path, "/manifests/"):
		kind = "manifest"
	case strings.Contains(r.URL.Path, "/blobs/"):
		kind = "blob"
	}
	c.mu.Lock()
	c.seen[r.Method+" "+r.URL.Scheme+" "+kind]++
	c.mu.Unlock()
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for {
		m := c.maxInFlight.Load()
		if n <= m || c.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	return c.next.RoundTrip(r)
}

// TestRequestsPerIndex counts what verifying an N-platform index costs:
// GET of the index, then per platform GET of its manifest and of its
// config: 1 + 2N. Before those, go-containerregistry pings GET /v2/ once to
// learn the registry's auth scheme. For a registry that may be plain HTTP
// (loopback, as here, or listed insecure) it races that ping over https and
// http: the https attempt reaches the transport but fails at the TLS
// handshake, so the registry serves 2 + 2N HTTP requests and the transport
// sees 3 + 2N. A TLS registry sees the one https ping. A second call on
// the same Verifier (memo.go) pings no more: the registry sees 1 + 2N. The attestation manifests in
// the index are never fetched.
func TestRequestsPerIndex(t *testing.T) {
	for _, n := range []int{1, 4, 16} {
		t.Run(fmt.Sprintf("platforms=%d", n), func(t *testing.T) {
			reg := registrytest.Serve(t)
			ref := registrytest.PushIndex(t, reg+"/app:multi", platformImages(t, n)...)
			c := &counting{next: remote.DefaultTransport, seen: map[string]int{}}
			v := verify.New(verify.WithKeychain(authn.NewMultiKeychain()), verify.WithTransport(c))
			rep, err := v.Verify(context.Background(), ref)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Verified() || len(rep.Platforms) != n {
				t.Fatalf("report: %+v", rep.Failures())
			}
			want := map[string]int{"GET https ping": 1, "GET http ping": 1, "GET http manifest": 1 + n, "GET http blob": n}
			if fmt.Sprint(c.seen) != fmt.Sprint(want) {
				t.Errorf("requests %v, want %v", c.seen, want)
			}
			if got := c.seen["GET http manifest"] + c.seen["GET http blob"]; got != 1+2*n {
				t.Errorf("%d manifest and blob requests, want 1 + 2N = %d", got, 1+2*n)
			}
			// The same Verifier again (the build's Verify after Warm, or
			// the next image of verify): the pings are remembered, so the
			// registry sees exactly 1 + 2N requests.
			c.reset()
			if rep, err := v.Verify(context.Background(), ref); err != nil || !rep.Verified() {
				t.Fatalf("second verify: %v %v", err, rep.Failures())
			}
			want = map[string]int{"GET http manifest": 1 + n, "GET http blob": n}
			if fmt.Sprint(c.seen) != fmt.Sprint(want) {
				t.Errorf("second verify: requests %v, want %v", c.seen, want)
			}
		})
	}
}

// TestPlatformsFetchedConcurrently proves the platform reads of a
// 16-platform index all overlap by watching requests in flight at once; it
// measures no time.
func TestPlatformsFetchedConcurrently(t *testing.T) {
	reg := registrytest.Serve(t)
	ref := registrytest.PushIndex(t, reg+"/app:multi", platformImages(t, 16)...)
	c := &counting{next: remote.DefaultTransport, seen: map[string]int{}, delay: 100 * time.Millisecond}
	v := verify.New(verify.WithKeychain(authn.NewMultiKeychain()), verify.WithTransport(c))
	rep, err := v.Verify(context.Background(), ref)
	if err != nil || !rep.Verified() {
		t.Fatalf("verify: %v %v", err, rep.Failures())
	}
	// All 16 platforms at once: more than the old bound of 8, and never
	// more than one request per platform.
	if m := c.maxInFlight.Load(); m <= 8 || m > 16 {
		t.Errorf("at most %d requests were in flight at once, want more than 8 and at most 16 (one per platform)", m)
	}
	for i, p := range rep.Platforms {
		if want := platformName(i); p.Platform != want {
			t.Errorf("platform %d is %s, want %s (index order kept)", i, p.Platform, want)
		}
	}
}

var arches = []string{"amd64", "arm64", "386", "ppc64le", "s390x", "riscv64", "mips64le", "loong64"}

func platformName(i int) string {
	os := "linux"
	if i >= len(arches) {
		os = "freebsd"
	}
	return os + "/" + arches[i%len(arches)]
}

func platformImages(t testing.TB, n int) []v1Image {
	var out []v1Image
	for i := range n {
		out = append(out, registrytest.Image(t, platformName(i), 3, registrytest.Valid))
	}
	return out
}

type v1Image = v1.Image

// countingKeychain counts credential look-ups.
type countingKeychain struct{ n atomic.Int32 }

func (k *countingKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	k.n.Add(1)
	return authn.Anonymous, nil
}

// TestCredentialsOncePerRegistry: Warm, two Verify calls and an Exists on
// one registry look credentials up once, and after Warm no call pings.
func TestCredentialsOncePerRegistry(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	ref := registrytest.PushIndex(t, reg+"/app:multi", platformImages(t, 2)...)
	k := &countingKeychain{}
	c := &counting{next: remote.DefaultTransport, seen: map[string]int{}}
	v := verify.New(verify.WithKeychain(k), verify.WithTransport(c))
	v.Warm(context.Background(), ref)
	if want := map[string]int{"GET https ping": 1, "GET http ping": 1}; fmt.Sprint(c.seen) != fmt.Sprint(want) {
		t.Errorf("warm: requests %v, want %v", c.seen, want)
	}
	c.reset()
	for range 2 {
		if rep, err := v.Verify(context.Background(), ref); err != nil || !rep.Verified() {
			t.Fatalf("verify: %v %v", err, rep.Failures())
		}
	}
	if err := v.Exists(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	if n := k.n.Load(); n != 1 {
		t.Errorf("credentials looked up %d times, want 1", n)
	}
	if c.seen["GET https ping"]+c.seen["GET http ping"] != 0 {
		t.Errorf("pinged again after Warm: %v", c.seen)
	}
}
