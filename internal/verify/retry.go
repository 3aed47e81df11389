package verify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/inlinecache/action/internal/cachemeta"
)

// Defaults of the time bounds and retries (docs/registries.md).
const (
	// DefaultTimeout bounds one image's verification, every read and
	// retry included (the verify-timeout input).
	DefaultTimeout = 2 * time.Minute
	// DefaultConnectTimeout bounds the TCP connect and the TLS handshake.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultResponseTimeout bounds one attempt at a request, from
	// sending it to the last byte of the body.
	DefaultResponseTimeout = 30 * time.Second
	// DefaultStallTimeout is how long a body may go without a byte.
	DefaultStallTimeout = 30 * time.Second
	// DefaultAttempts is how often one request is tried in all.
	DefaultAttempts = 5
	// DefaultBackoff is the first wait between attempts; it doubles up
	// to DefaultMaxBackoff, with up to half of it added as jitter.
	DefaultBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff = 8 * time.Second
	// DefaultMaxRetryAfter caps how long a Retry-After makes us wait.
	DefaultMaxRetryAfter = 30 * time.Second
)

// limits are a Verifier's time bounds and retry policy.
type limits struct {
	timeout, connect, response, stall  time.Duration
	attempts                           int
	backoff, maxBackoff, maxRetryAfter time.Duration
}

var defaultLimits = limits{
	timeout: DefaultTimeout, connect: DefaultConnectTimeout, response: DefaultResponseTimeout, stall: DefaultStallTimeout,
	attempts: DefaultAttempts, backoff: DefaultBackoff, maxBackoff: DefaultMaxBackoff, maxRetryAfter: DefaultMaxRetryAfter,
}

// WithTimeout bounds each Verify or Exists call, retries included
// (default DefaultTimeout; zero or less keeps it: no call is unbounded).
func WithTimeout(d time.Duration) Option {
	return func(v *Verifier) { v.lim.timeout = cmpOr(d, v.lim.timeout) }
}

// WithReadTimeouts sets the per-request bounds: connect (TCP and TLS
// handshake; applies to the default transport only), response (one
// attempt, from sending the request to the last byte of the body) and
// stall (a body with no byte for that long). Zero keeps a default.
func WithReadTimeouts(connect, response, stall time.Duration) Option {
	return func(v *Verifier) {
		v.lim.connect = cmpOr(connect, v.lim.connect)
		v.lim.response = cmpOr(response, v.lim.response)
		v.lim.stall = cmpOr(stall, v.lim.stall)
	}
}

// WithRetries sets how often a request is tried in all (1: never
// retried), the first backoff, the backoff cap and the cap on a
// Retry-After. Zero keeps a default.
func WithRetries(attempts int, backoff, maxBackoff, maxRetryAfter time.Duration) Option {
	return func(v *Verifier) {
		if attempts > 0 {
			v.lim.attempts = attempts
		}
		v.lim.backoff = cmpOr(backoff, v.lim.backoff)
		v.lim.maxBackoff = cmpOr(maxBackoff, v.lim.maxBackoff)
		v.lim.maxRetryAfter = cmpOr(maxRetryAfter, v.lim.maxRetryAfter)
	}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// errVerifyDeadline is the cause of a call's context when WithTimeout fires.
var errVerifyDeadline = errors.New("verification deadline reached")

// ReadError is one registry request that failed for good: what was read,
// from where, how often it was tried and for how long, and why.
type ReadError struct {
	Registry string
	// Object is what was read: "ping", "token", "manifest <repo>:<ref>",
	// "blob <repo>@<digest>".
	Object string
	// Status is the last HTTP status, when the registry answered.
	Status   string
	Attempts int
	Waited   time.Duration
	// Deadline is set when the verification deadline (Timeout) ended it.
	Deadline time.Duration
	// Transient failures were worth retrying (5xx, 429, resets, timeouts,
	// truncated or stalled bodies).
	Transient bool
	Err       error
}

func (e *ReadError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "registry %s: reading %s: ", e.Registry, e.Object)
	if e.Deadline > 0 {
		fmt.Fprintf(&b, "verification deadline of %s (verify-timeout) reached; ", e.Deadline)
	}
	switch {
	case e.Status != "":
		b.WriteString(e.Status)
	case errors.Is(e.Err, errVerifyDeadline):
		b.WriteString("no answer in time")
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	}
	tries := "attempt"
	if e.Attempts != 1 {
		tries = "attempts"
	}
	fmt.Fprintf(&b, " (%d %s over %s)", e.Attempts, tries, e.Waited.Round(time.Millisecond))
	return b.String()
}

func (e *ReadError) Unwrap() error { return e.Err }

// errStalled: a body made no progress for the stall timeout.
type errStalled struct{ after time.Duration }

func (e errStalled) Error() string { return fmt.Sprintf("body stalled: no data for %s", e.after) }

// errAttemptTimeout: one attempt took longer than the response timeout.
type errAttemptTimeout struct{ after time.Duration }

func (e errAttemptTimeout) Error() string {
	return fmt.Sprintf("no complete answer within %s", e.after)
}

// errTooBig is a body over its limit: never retried.
type errTooBig struct{ msg string }

func (e errTooBig) Error() string { return e.msg }

// call is the state of one Verify or Exists: where it reads and what
// failed for good (explain reads it to name a ping's real failure).
type call struct {
	registry string
	insecure []string
	lim      limits
	mu       sync.Mutex
	failed   []*ReadError
	scheme   []string // of each failed, "http" or "https"
	pingPath []bool
	realm    string // the token service a ping's challenge named
}

// sawChallenge keeps the realm of a ping's bearer challenge, for explain.
func (c *call) sawChallenge(h http.Header) {
	for _, v := range h.Values("WWW-Authenticate") {
		if _, rest, ok := strings.Cut(v, `realm="`); ok {
			realm, _, _ := strings.Cut(rest, `"`)
			c.mu.Lock()
			c.realm = realm
			c.mu.Unlock()
		}
	}
}

func (c *call) tokenRealm() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.realm
}

func (c *call) record(scheme string, ping bool, e *ReadError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = append(c.failed, e)
	c.scheme = append(c.scheme, scheme)
	c.pingPath = append(c.pingPath, ping)
}

// plainPingFailure is the failure of the ping over plain HTTP when the
// registry answered there (a status) or failed in a way worth retrying:
// for a registry that speaks plain HTTP that, not the TLS attempt raced
// beside it, is what went wrong.
func (c *call) plainPingFailure() *ReadError {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.failed {
		if c.pingPath[i] && c.scheme[i] == "http" && (e.Status != "" || e.Transient || e.Deadline > 0) {
			return e
		}
	}
	return nil
}

// retrier bounds and retries each registry request of one call. It reads
// every body whole (manifests, configs, tokens: all small and capped)
// under the stall timeout, so a truncated or stalled body is retried like
// a failed request, and what it hands on is in memory.
type retrier struct {
	next http.RoundTripper
	c    *call
}

// retryStatus are the statuses worth another attempt.
var retryStatus = map[int]bool{
	http.StatusRequestTimeout: true, http.StatusTooManyRequests: true,
	http.StatusInternalServerError: true, http.StatusBadGateway: true,
	http.StatusServiceUnavailable: true, http.StatusGatewayTimeout: true,
}

func (t *retrier) RoundTrip(req *http.Request) (*http.Response, error) {
	req = t.c.toRealm(req)
	lim := t.c.lim
	start := time.Now()
	ping := req.URL.Path == "/v2/"
	object := describe(req)
	fail := func(attempts int, status string, transient bool, err error) *ReadError {
		e := &ReadError{Registry: t.c.registry, Object: object, Status: status, Attempts: attempts, Waited: time.Since(start), Transient: transient, Err: err}
		if errors.Is(context.Cause(req.Context()), errVerifyDeadline) {
			e.Deadline = lim.timeout
		}
		t.c.record(req.URL.Scheme, ping, e)
		return e
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, fail(attempt-1, "", false, err)
			}
			r = req.Clone(req.Context())
			r.Body = body
		}
		resp, err := t.try(r)
		if req.Context().Err() != nil {
			// The caller's deadline or cancellation: no more attempts.
			if err == nil {
				resp.Body.Close()
			}
			return nil, fail(attempt, "", false, cmpErr(err, context.Cause(req.Context())))
		}
		var wait time.Duration
		switch {
		case err != nil && !transient(err):
			return nil, fail(attempt, "", false, err)
		case err != nil:
			wait = backoff(lim, attempt)
		case retryStatus[resp.StatusCode]:
			wait = backoff(lim, attempt)
			if ra, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
				wait = min(ra, lim.maxRetryAfter)
			}
		default:
			if ping && resp.StatusCode == http.StatusUnauthorized {
				t.c.sawChallenge(resp.Header)
				t.c.rewriteRealm(req, resp)
			}
			if resp.StatusCode/100 != 2 && !(ping && resp.StatusCode == http.StatusUnauthorized) {
				fail(attempt, resp.Status, false, nil) // recorded for explain; the caller reads the response
			}
			return resp, nil
		}
		status := ""
		if err == nil {
			status = resp.Status
			if ra := resp.Header.Get("Retry-After"); ra != "" {
				status += " (Retry-After: " + ra + ")"
			}
		}
		if attempt >= lim.attempts || !replayable {
			if err == nil {
				// The registry's own error (its body parsed), under
				// what was read and how often.
				err = transport.CheckError(resp, http.StatusOK)
			}
			return nil, fail(attempt, status, true, err)
		}
		if err == nil {
			resp.Body.Close()
		}
		if dl, ok := req.Context().Deadline(); ok && time.Now().Add(wait).After(dl) {
			return nil, fail(attempt, status, true, cmpErr(err, fmt.Errorf("%s; no time left for another attempt", status)))
		}
		timer := time.NewTimer(wait)
		select {
		case <-req.Context().Done():
			timer.Stop()
			return nil, fail(attempt, status, true, cmpErr(err, context.Cause(req.Context())))
		case <-timer.C:
		}
	}
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// try makes one attempt and reads the body whole under the stall timeout.
func (t *retrier) try(req *http.Request) (*http.Response, error) {
	lim := t.c.lim
	actx, cancelAttempt := context.WithTimeoutCause(req.Context(), lim.response, errAttemptTimeout{lim.response})
	defer cancelAttempt()
	ctx, cancel := context.WithCancelCause(actx)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel(nil)
		if cause := context.Cause(actx); errors.As(cause, new(errAttemptTimeout)) {
			return nil, cause
		}
		return nil, err
	}
	stalled := errStalled{lim.stall}
	timer := time.AfterFunc(lim.stall, func() { cancel(stalled) })
	defer timer.Stop()
	defer cancel(nil)
	limit, what := bodyLimit(req, resp)
	if what != "" && resp.ContentLength > limit {
		resp.Body.Close()
		return nil, errTooBig{fmt.Sprintf("%s %s is %d bytes, over the %d-byte limit", what, req.URL.Redacted(), resp.ContentLength, limit)}
	}
	var buf bytes.Buffer
	chunk := make([]byte, 32<<10)
	for {
		n, rerr := resp.Body.Read(chunk)
		if n > 0 {
			timer.Reset(lim.stall)
			buf.Write(chunk[:n])
			if int64(buf.Len()) > limit {
				resp.Body.Close()
				if what == "" {
					// An error body: what go-containerregistry would read of it.
					break
				}
				return nil, errTooBig{fmt.Sprintf("%s %s is over the %d-byte limit", what, req.URL.Redacted(), limit)}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			resp.Body.Close()
			if errors.Is(context.Cause(ctx), stalled) {
				return nil, stalled
			}
			if cause := context.Cause(actx); errors.As(cause, new(errAttemptTimeout)) {
				return nil, cause
			}
			if errors.Is(rerr, io.EOF) || rerr == io.ErrUnexpectedEOF {
				rerr = fmt.Errorf("body cut short after %d bytes: %w", buf.Len(), io.ErrUnexpectedEOF)
			}
			return nil, rerr
		}
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
	return resp, nil
}

// bodyLimit caps what is read of a response: manifests at
// MaxManifestBytes, blobs (we only read configs) at MaxConfigBytes, both
// failing when over; error bodies and anything else (ping, token) at 1 MiB,
// where only what was read is kept.
func bodyLimit(req *http.Request, resp *http.Response) (int64, string) {
	if req.Method == http.MethodGet && resp.StatusCode/100 == 2 {
		switch {
		case strings.Contains(req.URL.Path, "/manifests/"):
			return cachemeta.MaxManifestBytes, "manifest"
		case strings.Contains(req.URL.Path, "/blobs/"):
			return cachemeta.MaxConfigBytes, "blob"
		}
	}
	return 1 << 20, ""
}

// transient reports whether a failed attempt is worth another: network
// failures (resets, refused connections, timeouts) and cut or stalled
// bodies are; a refusal by policy, a size limit, a TLS failure (the peer
// does not speak TLS, or is not trusted) or anything unknown is not.
func transient(err error) bool {
	var (
		stalled errStalled
		attempt errAttemptTimeout
		netErr  net.Error
		rh      tls.RecordHeaderError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		verify  *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &rh), errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid), errors.As(err, &verify),
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return false
	case errors.As(err, &stalled), errors.As(err, &attempt), errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	}
	return false
}

// backoff is the wait before attempt+1: capped exponential with jitter.
func backoff(lim limits, attempt int) time.Duration {
	d := lim.backoff << min(attempt-1, 20)
	if d <= 0 || d > lim.maxBackoff {
		d = lim.maxBackoff
	}
	return d + rand.N(d/2+1) //nolint:gosec // jitter, not security
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// describe names what a request reads, for messages.
func describe(req *http.Request) string {
	p := req.URL.Path
	switch {
	case p == "/v2/":
		return fmt.Sprintf("ping %s://%s/v2/", req.URL.Scheme, req.URL.Host)
	case strings.HasPrefix(p, "/v2/") && strings.Contains(p, "/manifests/"):
		repo, ref, _ := strings.Cut(strings.TrimPrefix(p, "/v2/"), "/manifests/")
		sep := ":"
		if strings.Contains(ref, ":") {
			sep = "@"
		}
		return "manifest " + repo + sep + ref
	case strings.HasPrefix(p, "/v2/") && strings.Contains(p, "/blobs/"):
		repo, d, _ := strings.Cut(strings.TrimPrefix(p, "/v2/"), "/blobs/")
		return "blob " + repo + "@" + d
	}
	what := "request"
	if q := req.URL.Query(); q.Has("scope") || q.Has("service") {
		what = "token"
	}
	return what + " " + req.URL.Scheme + "://" + req.URL.Host + p
}
