package verify

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
)

// pingMemo remembers, for one Verifier, how each registry answered the
// ping (GET /v2/) go-containerregistry sends before the first request of
// every call. A ping answered 200, or 401 with its challenge, is replayed
// from memory; so is an https ping that met a server speaking plain HTTP,
// so a loopback or insecure registry known to speak plain HTTP is not
// tried over https again (go-containerregistry tries https first, and http
// only after that failed). A ping in flight is waited for, not repeated.
//
// Failures other than "this port speaks plain HTTP" are never kept: the
// next ping goes to the network, as without the memo, so the retries and
// the messages of a failing registry are those of every call.
type pingMemo struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen map[string]*pingEntry // by scheme://host
}

// pingEntry is one ping, in flight until done is closed.
type pingEntry struct {
	done   chan struct{}
	keep   bool
	status int
	text   string
	header http.Header
	err    error
}

func (m *pingMemo) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.URL.Path != "/v2/" || req.URL.RawQuery != "" {
		return m.next.RoundTrip(req)
	}
	key := req.URL.Scheme + "://" + req.URL.Host
	m.mu.Lock()
	if m.seen == nil {
		m.seen = map[string]*pingEntry{}
	}
	e, ok := m.seen[key]
	if !ok {
		e = &pingEntry{done: make(chan struct{})}
		m.seen[key] = e
	}
	m.mu.Unlock()
	if ok {
		select {
		case <-e.done:
		case <-req.Context().Done():
			return nil, context.Cause(req.Context())
		}
		if e.keep {
			return e.replay(req)
		}
		return m.next.RoundTrip(req)
	}
	resp, err := m.next.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized) {
		m.settle(key, e, resp, err)
		return resp, err
	}
	// An answer is kept only once its body has arrived whole: a ping cut
	// short is retried, and must not be replayed as if it had worked.
	status, text, header := resp.StatusCode, resp.Status, resp.Header.Clone()
	resp.Body = &onEOF{ReadCloser: resp.Body, done: func(whole bool) {
		if !whole {
			m.settle(key, e, nil, errPingCut)
			return
		}
		m.settle(key, e, &http.Response{StatusCode: status, Status: text, Header: header}, nil)
	}}
	return resp, nil
}

// errPingCut is a ping whose body did not arrive whole: not kept.
var errPingCut = errors.New("ping body cut short")

// onEOF reports once whether a body was read to its end before it was
// closed or failed.
type onEOF struct {
	io.ReadCloser
	once sync.Once
	done func(whole bool)
}

func (b *onEOF) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(func() { b.done(err == io.EOF) })
	}
	return n, err
}

func (b *onEOF) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { b.done(false) })
	return err
}

// settle records a ping's outcome, keeping it if it is worth replaying.
func (m *pingMemo) settle(key string, e *pingEntry, resp *http.Response, err error) {
	switch {
	case err != nil:
		e.keep, e.err = speaksPlainHTTP(err), err
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized:
		e.keep, e.status, e.text, e.header = true, resp.StatusCode, resp.Status, resp.Header.Clone()
	}
	if !e.keep {
		m.mu.Lock()
		if m.seen[key] == e {
			delete(m.seen, key)
		}
		m.mu.Unlock()
	}
	close(e.done)
}

func (e *pingEntry) replay(req *http.Request) (*http.Response, error) {
	if e.err != nil {
		return nil, e.err
	}
	return &http.Response{
		Status: e.text, StatusCode: e.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: e.header.Clone(), Body: http.NoBody, ContentLength: 0, Request: req,
	}, nil
}

// speaksPlainHTTP reports an https attempt answered in plain HTTP.
func speaksPlainHTTP(err error) bool {
	var rh tls.RecordHeaderError
	return errors.As(err, &rh) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

// memoKeychain looks credentials up once per registry: the docker config
// (and any helper it names) is read once, not once per call.
type memoKeychain struct {
	next authn.Keychain
	mu   sync.Mutex
	seen map[string]authn.Authenticator
}

func (k *memoKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), target)
}

// ResolveContext keeps the context of a context-aware keychain.
func (k *memoKeychain) ResolveContext(ctx context.Context, target authn.Resource) (authn.Authenticator, error) {
	key := target.RegistryStr()
	k.mu.Lock()
	defer k.mu.Unlock()
	if a, ok := k.seen[key]; ok {
		return a, nil
	}
	a, err := authn.Resolve(ctx, k.next, target)
	if err != nil {
		return nil, err
	}
	if k.seen == nil {
		k.seen = map[string]authn.Authenticator{}
	}
	k.seen[key] = a
	return a, nil
}
