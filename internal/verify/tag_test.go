package verify_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/verify"
)

// countingTransport counts requests by method and path kind.
type countingTransport struct {
	mu   sync.Mutex
	reqs []string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.reqs = append(c.reqs, r.Method+" "+r.URL.Path)
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) count(method, pathPart string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.reqs {
		m, p, _ := strings.Cut(r, " ")
		if m == method && strings.Contains(p, pathPart) {
			n++
		}
	}
	return n
}

func TestTagCreatesMovesAndSkips(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	// The digest to publish, pushed by digest only (no tag yet), and an
	// older image that :main points at today.
	pushed := registrytest.PushIndex(t, reg+"/app:staging", registrytest.Image(t, "linux/amd64", 2, registrytest.Valid))
	digest := pushed[strings.Index(pushed, "@")+1:]
	old := registrytest.Push(t, reg+"/app:main", registrytest.Image(t, "linux/amd64", 1, registrytest.Valid))
	oldDigest := old[strings.Index(old, "@")+1:]

	ct := &countingTransport{}
	v := verify.New(verify.WithKeychain(authn.NewMultiKeychain()), verify.WithTransport(ct))
	tags := []string{reg + "/app:main", reg + "/app:v1"}
	res, err := v.Tag(context.Background(), digest, tags)
	if err != nil {
		t.Fatal(err)
	}
	want := []verify.TagResult{
		{Tag: reg + "/app:main", Action: verify.TagMoved, Previous: oldDigest},
		{Tag: reg + "/app:v1", Action: verify.TagCreated},
	}
	if len(res) != 2 || res[0] != want[0] || res[1] != want[1] {
		t.Fatalf("results = %+v, want %+v", res, want)
	}
	for _, tg := range tags {
		if got := registrytest.Head(t, tg); got != digest {
			t.Errorf("%s → %s, want %s", tg, got, digest)
		}
	}
	if n := ct.count(http.MethodPut, "/manifests/"); n != 2 {
		t.Errorf("%d manifest PUTs, want 2", n)
	}
	// The manifest was read once for the repository, not once per tag.
	if n := ct.count(http.MethodGet, "/manifests/"+digest); n != 1 {
		t.Errorf("%d manifest GETs of the digest, want 1", n)
	}

	// Again: every tag already points at the digest, nothing is written
	// (registries with immutable tags refuse even an identical PUT).
	ct2 := &countingTransport{}
	v2 := verify.New(verify.WithKeychain(authn.NewMultiKeychain()), verify.WithTransport(ct2))
	res, err = v2.Tag(context.Background(), digest, tags)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Action != verify.TagUnchanged {
			t.Errorf("second run: %+v, want unchanged", r)
		}
	}
	if n := ct2.count(http.MethodPut, ""); n != 0 {
		t.Errorf("second run wrote %d times", n)
	}
}

func TestTagFailureNamesTheTag(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	pushed := registrytest.Push(t, reg+"/app:x", registrytest.Image(t, "linux/amd64", 1, registrytest.Valid))
	digest := pushed[strings.Index(pushed, "@")+1:]
	// The digest is not in repository other/app: tagging there must fail
	// with the tag named, after app:ok was set.
	v := verify.New(verify.WithKeychain(authn.NewMultiKeychain()))
	res, err := v.Tag(context.Background(), digest, []string{reg + "/app:ok", reg + "/other/app:bad"})
	var te *verify.TagError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a TagError", err)
	}
	if te.Tag != reg+"/other/app:bad" || !strings.Contains(err.Error(), "other/app:bad") || !strings.Contains(err.Error(), digest) {
		t.Errorf("error %q does not name the tag and digest", err)
	}
	if len(res) != 1 || res[0].Tag != reg+"/app:ok" || res[0].Action != verify.TagCreated {
		t.Errorf("results before the failure = %+v", res)
	}
}
