// Package faultproxy is a reverse proxy for tests that stands in front of a
// real registry on loopback and injects one fault at a time into one kind
// of request: a hang, a trickled or truncated body, an error status, a
// reset connection, a corrupted or oversized body. It can also play a
// token service in front of the registry, so token requests can fail too,
// and play a hosted registry's personality (personality.go).
package faultproxy

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Kind is a kind of registry request.
type Kind string

// Kinds of request.
const (
	Ping  Kind = "ping"  // GET /v2/
	Index Kind = "index" // the manifest named by Proxy.IndexDigest (or any by tag)
	// Manifest is any other manifest: a platform image's.
	Manifest Kind = "manifest"
	Blob     Kind = "blob"  // configs, for the verifier
	Token    Kind = "token" // the token service (Proxy.Token)
	Other    Kind = "other"
)

// Fault is what goes wrong.
type Fault string

// Faults.
const (
	None      Fault = ""
	Hang      Fault = "hang"     // headers never come
	Trickle   Fault = "trickle"  // the body comes one byte per TrickleEvery
	Truncate  Fault = "truncate" // half the body, then the connection closes
	Status500 Fault = "500"
	Status502 Fault = "502"
	Status503 Fault = "503"
	Status429 Fault = "429"   // with Retry-After: RetryAfter
	Reset     Fault = "reset" // the connection is reset before an answer
	Status401 Fault = "401"
	Status403 Fault = "403"
	Status404 Fault = "404"
	Digest    Fault = "digest"   // one byte of the body changed
	Oversize  Fault = "oversize" // a body far over any limit
)

// Proxy is a faulty registry in front of a real one.
type Proxy struct {
	// Host is the proxy's host:port.
	Host string
	// IndexDigest tells Index requests from Manifest ones.
	IndexDigest string
	// RetryAfter is sent with 429 (seconds).
	RetryAfter int
	// TrickleEvery paces a trickled body.
	TrickleEvery time.Duration
	// Expiry is how long Quay keeps a manifest pushed by digest alone
	// (default an hour, as quay#7024 reports).
	Expiry time.Duration
	// PutRate and PutBurst throttle ECR's manifest PUTs (PutImage): so
	// many a second, so many at once (default 10 and 10). Set them, and
	// Expiry and MutableTags, before As.
	PutRate  float64
	PutBurst int
	// MutableTags lets ECR move tags: its repositories' default setting;
	// the proxy plays IMMUTABLE unless this is set.
	MutableTags bool

	upstream *url.URL
	rp       *httputil.ReverseProxy
	srv      *httptest.Server
	stop     chan struct{}
	token    bool
	realm    string

	mu          sync.Mutex
	personality Personality
	persona     *persona
	kind        Kind
	fault       Fault
	times       int // faults left to inject; <0: every time
	counts      map[Kind]int
	injected    int
}

// Start starts a proxy to the registry at upstream (host:port, plain
// HTTP). With token set it asks clients for a bearer token from its own
// /token, as hosted registries do. Close it when done.
func Start(upstream string, token bool) *Proxy {
	u := &url.URL{Scheme: "http", Host: upstream}
	p := &Proxy{upstream: u, rp: httputil.NewSingleHostReverseProxy(u), stop: make(chan struct{}), token: token,
		RetryAfter: 1, TrickleEvery: 100 * time.Millisecond, counts: map[Kind]int{},
		Expiry: time.Hour, PutRate: 10, PutBurst: 10}
	p.rp.ErrorLog = log.New(io.Discard, "", 0) // cut connections are the point
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	p.srv.Start()
	p.Host = strings.TrimPrefix(p.srv.URL, "http://")
	p.realm = "http://" + p.Host + "/token"
	return p
}

// SetRealm makes the token challenge name another token service.
func (p *Proxy) SetRealm(realm string) { p.realm = realm }

// Inject makes the next times requests of kind fail with f (times < 0:
// every one), and resets the counts.
func (p *Proxy) Inject(kind Kind, f Fault, times int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.kind, p.fault, p.times, p.injected = kind, f, times, 0
	p.counts = map[Kind]int{}
}

// Counts returns the requests seen by kind since the last Inject.
func (p *Proxy) Counts() map[Kind]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[Kind]int, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// Injected is how many faults were injected since the last Inject.
func (p *Proxy) Injected() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.injected
}

// Close ends hung requests and stops the proxy.
func (p *Proxy) Close() {
	close(p.stop)
	p.srv.CloseClientConnections()
	p.srv.Close()
}

func (p *Proxy) kindOf(r *http.Request) Kind {
	switch path := r.URL.Path; {
	case path == "/v2/":
		return Ping
	case path == "/token":
		return Token
	case strings.Contains(path, "/manifests/"):
		if ref := path[strings.LastIndex(path, "/")+1:]; ref == p.IndexDigest || !strings.HasPrefix(ref, "sha256:") {
			return Index
		}
		return Manifest
	case strings.Contains(path, "/blobs/"):
		return Blob
	}
	return Other
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	kind := p.kindOf(r)
	p.mu.Lock()
	p.counts[kind]++
	f := None
	if kind == p.kind && p.times != 0 {
		f = p.fault
		p.times--
		p.injected++
	}
	p.mu.Unlock()

	switch f {
	case Hang:
		select {
		case <-r.Context().Done():
		case <-p.stop:
		}
		return
	case Reset:
		reset(w)
		return
	case Status500, Status502, Status503, Status429, Status401, Status403, Status404:
		code := map[Fault]int{Status500: 500, Status502: 502, Status503: 503, Status429: 429, Status401: 401, Status403: 403, Status404: 404}[f]
		if f == Status429 {
			w.Header().Set("Retry-After", fmt.Sprint(p.RetryAfter))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"errors":[{"code":"INJECTED","message":"injected fault %s"}]}`, f)
		return
	}

	if p.token {
		switch {
		case kind == Token:
			p.answer(w, r, kind, f, http.StatusOK, http.Header{"Content-Type": {"application/json"}}, []byte(`{"token":"t0ken","access_token":"t0ken"}`))
			return
		case r.Header.Get("Authorization") != "Bearer t0ken":
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="faultproxy"`, p.realm))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		r.Header.Del("Authorization")
	}
	if f == None {
		p.forward(w, r)
		return
	}
	// Faults on the body: fetch the upstream answer whole first.
	rec := httptest.NewRecorder()
	p.rp.ServeHTTP(rec, r)
	p.answer(w, r, kind, f, rec.Code, rec.Header(), rec.Body.Bytes())
}

// answer writes a response with the body fault f.
func (p *Proxy) answer(w http.ResponseWriter, r *http.Request, kind Kind, f Fault, code int, h http.Header, body []byte) {
	for k, v := range h {
		w.Header()[k] = v
	}
	if f == Trickle && (kind == Ping || kind == Token) {
		// Their bodies are a few bytes: pad them (JSON allows spaces) so
		// a trickle lasts.
		body = append(bytes.Clone(body), bytes.Repeat([]byte(" "), 1000)...)
	}
	switch f {
	case Digest:
		// One hex digit changed: the same length, still JSON.
		body = bytes.Clone(body)
		if i := bytes.Index(body, []byte("sha256:")); i >= 0 && i+7 < len(body) {
			if body[i+7] == '0' {
				body[i+7] = '1'
			} else {
				body[i+7] = '0'
			}
		}
	case Oversize:
		w.Header().Set("Content-Length", fmt.Sprint(2048<<16))
		w.WriteHeader(code)
		chunk := bytes.Repeat([]byte(" "), 1<<16)
		for range 2048 { // 128 MiB at most, far over any limit
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return
	}
	switch f {
	case Trickle:
		for i := range body {
			if _, err := w.Write(body[i : i+1]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(p.TrickleEvery):
			case <-r.Context().Done():
				return
			case <-p.stop:
				return
			}
		}
	case Truncate:
		_, _ = w.Write(body[:len(body)/2])
		// Returning short of Content-Length closes the connection.
	default:
		_, _ = w.Write(body)
	}
}

// reset closes the connection with a TCP RST instead of an answer.
func reset(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}
