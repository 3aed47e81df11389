package verify

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// recorder is a transport that records what it was given and answers
// nothing: no request leaves the test.
type recorder struct{ got []string }

var errRecorded = errors.New("recorded, not sent")

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = append(r.got, req.URL.String())
	return nil, errRecorded
}

func TestPerHostTLSSkipsVerificationOnlyForListedHosts(t *testing.T) {
	verified, unverified := &recorder{}, &recorder{}
	tr := &perHostTLS{verified: verified, unverified: unverified, insecure: []string{"registry.invalid:5000"}}
	for _, u := range []string{
		"https://registry.invalid:5000/v2/", // listed
		"https://registry.invalid/v2/",      // same name, other port
		"https://blobs.registry.invalid/x",  // a redirect target
		"https://other.invalid:5000/v2/",    // unlisted
		"http://registry.invalid:5000/v2/",  // plain HTTP has no TLS to skip
	} {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.RoundTrip(req); !errors.Is(err, errRecorded) {
			t.Fatalf("%s: %v", u, err)
		}
	}
	if len(unverified.got) != 1 || unverified.got[0] != "https://registry.invalid:5000/v2/" {
		t.Errorf("unverified TLS for %q, want only the listed registry", unverified.got)
	}
	if len(verified.got) != 4 {
		t.Errorf("verified TLS for %q, want the other 4", verified.got)
	}
}

func TestNewTransport(t *testing.T) {
	// Without insecure registries it is a plain verifying transport.
	base, ok := newTransport(nil, nil, defaultLimits).(*http.Transport)
	if !ok {
		t.Fatalf("newTransport(nil, nil, defaultLimits) = %T", newTransport(nil, nil, defaultLimits))
	}
	if base.TLSClientConfig.InsecureSkipVerify || base.TLSClientConfig.RootCAs != nil {
		t.Errorf("default TLS config = %+v, want verification against the system roots", base.TLSClientConfig)
	}
	if base.Proxy == nil || base.TLSHandshakeTimeout == 0 {
		t.Error("remote.DefaultTransport's settings were not kept")
	}

	p, ok := newTransport([]string{"registry.invalid:5000"}, nil, defaultLimits).(*perHostTLS)
	if !ok {
		t.Fatal("insecure registries do not get a per-host transport")
	}
	v, u := p.verified.(*http.Transport), p.unverified.(*http.Transport)
	if v.TLSClientConfig.InsecureSkipVerify || !u.TLSClientConfig.InsecureSkipVerify {
		t.Errorf("verified skips=%v, unverified skips=%v", v.TLSClientConfig.InsecureSkipVerify, u.TLSClientConfig.InsecureSkipVerify)
	}
	if v.TLSClientConfig == u.TLSClientConfig {
		t.Error("the two transports share one TLS config")
	}
	if !strings.Contains(strings.Join(p.insecure, ","), "registry.invalid:5000") {
		t.Errorf("insecure = %q", p.insecure)
	}
}
