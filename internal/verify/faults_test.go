//go:build linux

package verify_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/inlinecache/action/internal/faultproxy"
	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/testenv"
	"github.com/inlinecache/action/internal/verify"
)

// The fault tests read through faultproxy from real registries
// (distribution 2.8, Debian's docker-registry, and distribution v3, each
// started once for the package).
var (
	realMu   sync.Mutex
	realRegs = map[testenv.Distribution]*testenv.Registry{}
	realErr  error
	tools    *testenv.Tools
)

func TestMain(m *testing.M) {
	// The fault tests wait on timeouts and backoff, not on the CPU: run
	// more of them at once than -parallel's default (GOMAXPROCS), unless
	// the run sets it.
	flag.Parse()
	if !parallelSet() {
		_ = flag.Set("test.parallel", "32") // a registered testing flag: cannot fail
	}
	code := m.Run()
	for d, r := range realRegs {
		if err := r.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping the %s registry: %v\n", d, err)
			code = 1
		}
	}
	os.Exit(code)
}

func parallelSet() (set bool) {
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	return set
}

// realRegistry is the distribution 2.8 registry.
func realRegistry(t *testing.T) string {
	t.Helper()
	return realRegistryOf(t, testenv.Distribution28)
}

// realRegistryOf is the registry of version d, started on first use.
func realRegistryOf(t *testing.T, d testenv.Distribution) string {
	t.Helper()
	realMu.Lock()
	defer realMu.Unlock()
	if realErr != nil {
		t.Fatal("cannot start the registries:", realErr)
	}
	if r := realRegs[d]; r != nil {
		return r.Addr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if tools == nil {
		tt, err := testenv.RegistryTools(ctx, t.Logf)
		if err != nil {
			realErr = err
			t.Fatal("cannot provide the registries:", err)
		}
		tools = &tt
	}
	r, err := testenv.StartDistribution(ctx, *tools, d)
	if err != nil {
		t.Fatalf("cannot start %s: %v", d, err)
	}
	realRegs[d] = r
	return r.Addr
}

// Short bounds so that the suite stays fast: each attempt 2s at most (a
// loaded machine still answers a loopback request well within it), a
// stalled body cut after 500ms, 3 attempts, backoff 50ms doubling to
// 200ms, Retry-After honoured up to 1.5s, and a deadline of 10s for the
// whole verification (3 hung attempts fit in it).
const (
	faultTimeout  = 10 * time.Second
	faultResponse = 2 * time.Second
	faultAttempts = 3
)

func faultOptions(extra ...verify.Option) []verify.Option {
	return append([]verify.Option{
		verify.WithKeychain(authn.NewMultiKeychain()),
		verify.WithTimeout(faultTimeout),
		verify.WithReadTimeouts(time.Second, faultResponse, 500*time.Millisecond),
		verify.WithRetries(faultAttempts, 50*time.Millisecond, 200*time.Millisecond, 1500*time.Millisecond),
	}, extra...)
}

// faultImage is a two-platform index with valid cache in a real registry.
type faultImage struct {
	reg, repo, indexDigest string
	children               map[string]string // platform → manifest digest
}

var (
	imageMu sync.Mutex
	images  = map[testenv.Distribution]faultImage{}
)

// pushFaultImage is the fault image in the distribution 2.8 registry.
func pushFaultImage(t *testing.T) faultImage {
	t.Helper()
	return pushFaultImageOn(t, testenv.Distribution28)
}

// pushFaultImageOn pushes the fault image to the registry of version d,
// once.
func pushFaultImageOn(t *testing.T, dist testenv.Distribution) faultImage {
	t.Helper()
	reg := realRegistryOf(t, dist)
	imageMu.Lock()
	defer imageMu.Unlock()
	if img, ok := images[dist]; ok {
		return img
	}
	amd := registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)
	arm := registrytest.Image(t, "linux/arm64", 3, registrytest.Valid)
	ref := registrytest.PushIndex(t, reg+"/faults/app:multi", amd, arm)
	img := faultImage{reg: reg, repo: "faults/app", indexDigest: ref[strings.LastIndex(ref, "@")+1:], children: map[string]string{}}
	for p, im := range map[string]v1.Image{"linux/amd64": amd, "linux/arm64": arm} {
		d, err := im.Digest()
		if err != nil {
			t.Fatal(err)
		}
		img.children[p] = d.String()
	}
	images[dist] = img
	return img
}

// normal is what verifying the image reads of each kind, without faults
// (TestFaultProxyBaseline checks it).
var normal = map[faultproxy.Kind]int{faultproxy.Ping: 1, faultproxy.Index: 1, faultproxy.Manifest: 2, faultproxy.Blob: 2}

// outcome is one run through the proxy.
type outcome struct {
	verified bool
	msg      string
	elapsed  time.Duration
	counts   map[faultproxy.Kind]int
}

func runThrough(t *testing.T, p *faultproxy.Proxy, img faultImage, opts ...verify.Option) outcome {
	t.Helper()
	start := time.Now()
	rep, err := verify.New(faultOptions(opts...)...).Verify(context.Background(), p.Host+"/"+img.repo+"@"+img.indexDigest)
	o := outcome{elapsed: time.Since(start), counts: p.Counts(), verified: err == nil && rep.Verified()}
	if err != nil {
		o.msg = err.Error()
	} else {
		o.msg = strings.Join(rep.Failures(), "\n")
	}
	return o
}

func TestFaultProxyBaseline(t *testing.T) {
	for _, dist := range testenv.Distributions {
		t.Run(string(dist), func(t *testing.T) { faultProxyBaseline(t, pushFaultImageOn(t, dist)) })
	}
}

func faultProxyBaseline(t *testing.T, img faultImage) {
	for _, token := range []bool{false, true} {
		p := faultproxy.Start(img.reg, token)
		defer p.Close()
		p.IndexDigest = img.indexDigest
		o := runThrough(t, p, img)
		want := maps(normal)
		if token {
			want[faultproxy.Token] = 1
		}
		if !o.verified || fmt.Sprint(o.counts) != fmt.Sprint(want) {
			t.Errorf("token=%v: verified=%v counts=%v, want %v: %s", token, o.verified, o.counts, want, o.msg)
		}
	}
}

func maps(m map[faultproxy.Kind]int) map[faultproxy.Kind]int {
	out := map[faultproxy.Kind]int{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// retried are the faults worth another attempt; the others fail at once.
var retried = map[faultproxy.Fault]bool{
	faultproxy.Hang: true, faultproxy.Trickle: true, faultproxy.Truncate: true,
	faultproxy.Status500: true, faultproxy.Status502: true, faultproxy.Status503: true,
	faultproxy.Status429: true, faultproxy.Reset: true,
}

// says is what the message must say about each fault.
var says = map[faultproxy.Fault]string{
	faultproxy.Hang: "no complete answer within " + faultResponse.String(), faultproxy.Trickle: "no complete answer within " + faultResponse.String(),
	faultproxy.Truncate: "cut short", faultproxy.Status500: "500 Internal Server Error",
	faultproxy.Status502: "502 Bad Gateway", faultproxy.Status503: "503 Service Unavailable",
	faultproxy.Status429: "429 Too Many Requests (Retry-After: 1)", faultproxy.Reset: "connection reset",
	faultproxy.Status401: "401 Unauthorized", faultproxy.Status403: "403 Forbidden", faultproxy.Status404: "404 Not Found",
	faultproxy.Digest: "digest", faultproxy.Oversize: "limit",
}

// stalledBody is how the message names a body cut by the stall bound.
const stalledBody = "body stalled: no data for 500ms"

// matrixRow is one line of the fault matrix the test logs.
type matrixRow struct {
	registry, kind, fault, mode, result string
	seconds                             float64
	requests                            int
	msg                                 string
}

var (
	matrixMu sync.Mutex
	matrix   []matrixRow
)

// TestFaults injects each fault into each kind of request, once
// (transient) and every time (persistent), and checks the verdict, the
// message, how many requests of that kind were made and that the run
// ended within the deadline.
func TestFaults(t *testing.T) {
	t.Cleanup(func() { logMatrix(t) })
	for _, dist := range testenv.Distributions {
		t.Run(string(dist), func(t *testing.T) {
			t.Parallel()
			faultMatrix(t, dist, pushFaultImageOn(t, dist))
		})
	}
}

func faultMatrix(t *testing.T, dist testenv.Distribution, img faultImage) {
	faults := []faultproxy.Fault{
		faultproxy.Hang, faultproxy.Trickle, faultproxy.Truncate, faultproxy.Status500, faultproxy.Status502,
		faultproxy.Status503, faultproxy.Status429, faultproxy.Reset, faultproxy.Status401, faultproxy.Status403,
		faultproxy.Status404, faultproxy.Digest, faultproxy.Oversize,
	}
	kinds := []faultproxy.Kind{faultproxy.Ping, faultproxy.Index, faultproxy.Manifest, faultproxy.Blob, faultproxy.Token}
	for _, kind := range kinds {
		for _, f := range faults {
			if (f == faultproxy.Digest || f == faultproxy.Oversize) && (kind == faultproxy.Ping || kind == faultproxy.Token) {
				continue // no digest to check, no body kept
			}
			for _, persistent := range []bool{false, true} {
				mode := "transient"
				if persistent {
					mode = "persistent"
				}
				t.Run(fmt.Sprintf("%s/%s/%s", kind, f, mode), func(t *testing.T) {
					t.Parallel()
					p := faultproxy.Start(img.reg, kind == faultproxy.Token)
					defer p.Close()
					p.IndexDigest = img.indexDigest
					times := 1
					if persistent {
						times = -1
					}
					p.Inject(kind, f, times)
					o := runThrough(t, p, img)
					checkFault(t, img, p, kind, f, persistent, o)
					res := "verified"
					if !o.verified {
						res = "NOT verified"
					}
					matrixMu.Lock()
					matrix = append(matrix, matrixRow{string(dist), string(kind), string(f), mode, res, o.elapsed.Seconds(), o.counts[kind], o.msg})
					matrixMu.Unlock()
				})
			}
		}
	}
}

func checkFault(t *testing.T, img faultImage, p *faultproxy.Proxy, kind faultproxy.Kind, f faultproxy.Fault, persistent bool, o outcome) {
	t.Helper()
	t.Logf("%.2fs, requests %v: %s", o.elapsed.Seconds(), o.counts, o.msg)
	if o.elapsed > faultTimeout+time.Second {
		t.Errorf("ran %s, past the %s deadline", o.elapsed, faultTimeout)
	}
	base := normal[kind]
	if kind == faultproxy.Token {
		base = 1
	}
	if p.Injected() == 0 {
		t.Fatalf("no %s request was made: the fault was never injected", kind)
	}
	wantOK := retried[f] && !persistent
	if f == faultproxy.Status401 && kind == faultproxy.Ping {
		// A 401 to the ping is how registries ask for credentials: with
		// no challenge in it, the reads go on anonymously.
		wantOK = true
	}
	if o.verified != wantOK {
		t.Fatalf("verified = %v, want %v: %s", o.verified, wantOK, o.msg)
	}
	// Requests: a transient fault costs one more request; a persistent
	// one the configured attempts, if it is worth retrying, else none.
	max := base + 1
	switch {
	case persistent && retried[f]:
		max = base * faultAttempts
	case !retried[f]:
		max = base
	}
	if f == faultproxy.Reset {
		// net/http itself sends a GET once more when a reused
		// connection is reset before any answer.
		max *= 2
	}
	if o.counts[kind] > max {
		t.Errorf("%d %s requests, want at most %d", o.counts[kind], kind, max)
	}
	if wantOK {
		return
	}
	// The message names the registry, the repository, what was read
	// (with its digest, and the platform for a platform's reads) and the
	// fault.
	want := []string{p.Host}
	if said := says[f]; !(f == faultproxy.Trickle && strings.Contains(o.msg, stalledBody)) {
		// A trickled body is cut by the answer bound; on a starved
		// machine a 100ms gap between its bytes can exceed the stall
		// bound first, which is as right an end to it.
		want = append(want, said)
	}
	switch kind {
	case faultproxy.Ping:
		want = append(want, "ping")
	case faultproxy.Token:
		want = append(want, "token", img.repo)
	case faultproxy.Index:
		want = append(want, img.repo, img.indexDigest)
	case faultproxy.Manifest:
		want = append(want, img.repo, "manifest", "of platform linux/")
	case faultproxy.Blob:
		want = append(want, img.repo, "config", "of platform linux/")
	}
	if persistent && retried[f] {
		want = append(want, fmt.Sprintf("%d attempts", faultAttempts))
	}
	for _, w := range want {
		if !strings.Contains(o.msg, w) {
			t.Errorf("message lacks %q", w)
		}
	}
	if kind == faultproxy.Ping && strings.Contains(o.msg, "TLS") {
		t.Errorf("TLS advice for a registry that speaks plain HTTP")
	}
}

func logMatrix(t *testing.T) {
	matrixMu.Lock()
	defer matrixMu.Unlock()
	sort.Slice(matrix, func(i, j int) bool {
		a, b := matrix[i], matrix[j]
		return a.registry+a.kind+a.fault+a.mode < b.registry+b.kind+b.fault+b.mode
	})
	var b strings.Builder
	b.WriteString("| registry | request | fault | mode | result | seconds | requests | message |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range matrix {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.1f | %d | %s |\n", r.registry, r.kind, r.fault, r.mode, r.result, r.seconds, r.requests, strings.ReplaceAll(r.msg, "\n", " / "))
	}
	t.Logf("fault matrix:\n%s", b.String())
	if path := os.Getenv("INLINE_CACHE_FAULT_MATRIX"); path != "" {
		_ = os.WriteFile(path, []byte(b.String()), 0o644)
	}
}

// TestFaultDeadline: when the verification deadline fires in the middle of
// the reads, the message says so and names what was being read; the run
// ends at the deadline.
func TestFaultDeadline(t *testing.T) {
	img := pushFaultImage(t)
	for _, kind := range []faultproxy.Kind{faultproxy.Index, faultproxy.Blob} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			p := faultproxy.Start(realRegistry(t), false)
			defer p.Close()
			p.IndexDigest = img.indexDigest
			p.Inject(kind, faultproxy.Hang, -1)
			const deadline = 2 * time.Second
			o := runThrough(t, p, img, verify.WithTimeout(deadline), verify.WithReadTimeouts(0, 1500*time.Millisecond, 0), verify.WithRetries(5, 0, 0, 0))
			t.Logf("%.2fs, requests %v: %s", o.elapsed.Seconds(), o.counts, o.msg)
			if o.verified {
				t.Fatal("verified through a hung registry")
			}
			if o.elapsed > deadline+time.Second {
				t.Errorf("ran %s, past the %s deadline", o.elapsed, deadline)
			}
			want := []string{p.Host, img.repo, "verification deadline of 2s (verify-timeout) reached", "2 attempts"}
			if kind == faultproxy.Blob {
				want = append(want, "config", "of platform linux/")
			} else {
				want = append(want, "manifest "+img.repo+"@"+img.indexDigest)
			}
			for _, w := range want {
				if !strings.Contains(o.msg, w) {
					t.Errorf("message lacks %q", w)
				}
			}
			if n := p.Counts()[kind]; n > 2*normal[kind] {
				t.Errorf("%d %s requests, want at most 2 per read", n, kind)
			}
		})
	}
}

// TestRetryAfter: a 429's Retry-After is waited for (the backoff alone
// would be 50ms), up to the cap.
func TestRetryAfter(t *testing.T) {
	img := pushFaultImage(t)
	for _, c := range []struct {
		retryAfter int
		min        time.Duration
	}{{1, time.Second}, {3600, 1500 * time.Millisecond}} {
		t.Run(fmt.Sprint(c.retryAfter), func(t *testing.T) {
			p := faultproxy.Start(realRegistry(t), false)
			defer p.Close()
			p.IndexDigest, p.RetryAfter = img.indexDigest, c.retryAfter
			p.Inject(faultproxy.Index, faultproxy.Status429, 1)
			o := runThrough(t, p, img)
			if !o.verified || o.counts[faultproxy.Index] != 2 {
				t.Fatalf("verified=%v after %d index requests: %s", o.verified, o.counts[faultproxy.Index], o.msg)
			}
			if o.elapsed < c.min {
				t.Errorf("retried after %s: Retry-After %ds (capped at 1.5s) not honoured", o.elapsed, c.retryAfter)
			}
			if o.elapsed > faultTimeout {
				t.Errorf("ran %s, past the deadline", o.elapsed)
			}
		})
	}
}

// TestConcurrentRunsThroughFaults: 20 verifications at once, the first
// 10 config reads failing with 503: every one verifies.
func TestConcurrentRunsThroughFaults(t *testing.T) {
	img := pushFaultImage(t)
	p := faultproxy.Start(realRegistry(t), false)
	defer p.Close()
	p.IndexDigest = img.indexDigest
	p.Inject(faultproxy.Blob, faultproxy.Status503, 10)
	var wg sync.WaitGroup
	failed := make(chan string, 20)
	// Enough attempts that no run can spend them all on the 10 failures,
	// however the runs interleave, and time bounds no loaded machine
	// reaches: each injected failure then costs exactly one more read,
	// and nothing else does.
	opts := faultOptions(
		verify.WithRetries(11, 50*time.Millisecond, 200*time.Millisecond, 1500*time.Millisecond),
		verify.WithReadTimeouts(10*time.Second, 10*time.Second, 10*time.Second),
		verify.WithTimeout(time.Minute))
	for range 20 {
		wg.Go(func() {
			rep, err := verify.New(opts...).Verify(context.Background(), p.Host+"/"+img.repo+"@"+img.indexDigest)
			if err != nil || !rep.Verified() {
				failed <- fmt.Sprint(err, rep.Failures())
			}
		})
	}
	wg.Wait()
	close(failed)
	for f := range failed {
		t.Error(f)
	}
	if n := p.Counts()[faultproxy.Blob]; n != 20*2+10 {
		t.Errorf("%d config reads, want 50 (40 and the 10 that failed once)", n)
	}
}

// TestTokenRealmElsewhere: a token service on another loopback port than
// the registry's is trusted as the loopback registry is: the token comes
// from there and the image verifies.
func TestTokenRealmElsewhere(t *testing.T) {
	img := pushFaultImage(t)
	other := faultproxy.Start(realRegistry(t), true)
	defer other.Close()
	p := faultproxy.Start(realRegistry(t), true)
	defer p.Close()
	p.IndexDigest = img.indexDigest
	p.SetRealm("http://" + other.Host + "/token")
	o := runThrough(t, p, img)
	if !o.verified {
		t.Fatalf("not verified: %s", o.msg)
	}
	if o.counts[faultproxy.Token] != 0 || other.Counts()[faultproxy.Token] != 1 {
		t.Errorf("token requests: registry %d, token service %d; want 0 and 1", o.counts[faultproxy.Token], other.Counts()[faultproxy.Token])
	}
}

// TestSinglePlatformConfigFailureNamesTheImage: a single-platform image
// has its platform in its config; when that cannot be read the failure
// says which image it is rather than an empty platform.
func TestSinglePlatformConfigFailureNamesTheImage(t *testing.T) {
	reg := realRegistry(t)
	ref := registrytest.Push(t, reg+"/faults/single:1", registrytest.Image(t, "linux/amd64", 2, registrytest.Valid))
	p := faultproxy.Start(reg, false)
	defer p.Close()
	p.Inject(faultproxy.Blob, faultproxy.Status404, -1)
	digest := ref[strings.LastIndex(ref, "@")+1:]
	rep, err := verify.New(faultOptions()...).Verify(context.Background(), p.Host+"/faults/single@"+digest)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Join(rep.Failures(), "\n")
	t.Log(f)
	for _, w := range []string{"unknown: cannot read config", "of platform unknown (single-platform image " + digest, p.Host, "faults/single", "404 Not Found"} {
		if !strings.Contains(f, w) {
			t.Errorf("failure lacks %q", w)
		}
	}
}
