package verify_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/verify"
)

// hangFirst hangs the first hang manifest GETs until the client gives up
// on them, and counts every manifest GET.
type hangFirst struct {
	next http.Handler
	mu   sync.Mutex
	hang int
	gets int
}

func (h *hangFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
		h.mu.Lock()
		h.gets++
		hang := h.hang > 0
		h.hang--
		h.mu.Unlock()
		if hang {
			<-r.Context().Done()
			return
		}
	}
	h.next.ServeHTTP(w, r)
}

func (h *hangFirst) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gets
}

// hangingImage serves a pushed image whose first hangs manifest GETs
// hang: the handler, the registry through it and the image's digest.
func hangingImage(t *testing.T, hangs int) (h *hangFirst, through, digest string) {
	t.Helper()
	h = &hangFirst{}
	through = registrytest.ServeHandler(t, func(next http.Handler) http.Handler { h.next = next; return h })
	ref := registrytest.Push(t, through+"/app:1", registrytest.Image(t, "linux/amd64", 2, registrytest.Valid))
	h.mu.Lock()
	h.hang, h.gets = hangs, 0
	h.mu.Unlock()
	return h, through, ref[strings.LastIndex(ref, "@")+1:]
}

// A manifest request that hangs once, under a deadline shorter than one
// attempt's bound (the default 30 s response timeout): the attempt is cut
// at half the time left, and the retry verifies the image. Before the
// bound was derived from the deadline, the one hung attempt used up the
// whole deadline ("1 attempt").
func TestDeadlineLeavesRoomForARetry(t *testing.T) {
	h, through, digest := hangingImage(t, 1)

	v := verify.New(verify.WithKeychain(authn.NewMultiKeychain()), verify.WithTimeout(2*time.Second),
		verify.WithRetries(5, time.Millisecond, time.Millisecond, 0))
	rep, err := v.Verify(context.Background(), through+"/app@"+digest)
	if err != nil || !rep.Verified() {
		t.Fatalf("not verified through one hung manifest request: %v %v", err, rep.Failures())
	}
	if n := h.count(); n != 2 {
		t.Errorf("%d manifest requests, want 2: the hung one and its retry", n)
	}
}

// With the manifest hanging every time, the deadline ends the call, and
// the message counts more than one attempt: the first was bounded so that
// another could follow.
func TestDeadlineHungEveryTimeRetried(t *testing.T) {
	h, through, digest := hangingImage(t, 1<<30)

	v := verify.New(verify.WithKeychain(authn.NewMultiKeychain()), verify.WithTimeout(time.Second),
		verify.WithRetries(2, time.Millisecond, time.Millisecond, 0))
	_, err := v.Verify(context.Background(), through+"/app@"+digest)
	if err == nil {
		t.Fatal("verified through a manifest that never answers")
	}
	if n := h.count(); n != 2 {
		t.Errorf("%d manifest requests, want 2 (both attempts)", n)
	}
	if !strings.Contains(err.Error(), "(2 attempts over") || !strings.Contains(err.Error(), "manifest app@"+digest) {
		t.Errorf("message %q does not count 2 attempts at the manifest", err)
	}
}
