package verify

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// realmPrefix marks a token request routed through the registry's own
// host:port (see rewriteRealm).
const realmPrefix = "/.inline-cache-realm/"

// trusted reports whether host (host[:port]) may be reached the way a
// loopback or listed insecure registry is.
func (c *call) trusted(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	return isLoopback(h) || slices.Contains(c.insecure, host)
}

// rewriteRealm lets a token service on loopback or on a listed insecure
// registry serve a registry that is itself loopback or listed.
// go-containerregistry refuses a bearer realm on a private or loopback
// address other than the registry's own host:port (a guard against a
// hostile registry pointing credentials at an internal service); for
// hosts the user trusts with plain HTTP anyway, the challenge is made to
// name the registry's host:port, and toRealm sends the token request on
// to the real realm.
func (c *call) rewriteRealm(req *http.Request, resp *http.Response) {
	if !c.trusted(req.URL.Host) {
		return
	}
	vals := resp.Header.Values("WWW-Authenticate")
	for i, v := range vals {
		_, rest, ok := strings.Cut(v, `realm="`)
		if !ok {
			continue
		}
		realm, _, _ := strings.Cut(rest, `"`)
		u, err := url.Parse(realm)
		if err != nil || u.Host == req.URL.Host || !c.trusted(u.Host) || (u.Scheme != "http" && u.Scheme != "https") {
			continue
		}
		via := *req.URL
		via.Path, via.RawPath = realmPrefix+u.Scheme+"/"+u.Host+u.EscapedPath(), ""
		via.RawQuery = u.RawQuery
		vals[i] = strings.Replace(v, `realm="`+realm+`"`, `realm="`+via.String()+`"`, 1)
	}
	resp.Header.Del("WWW-Authenticate")
	for _, v := range vals {
		resp.Header.Add("WWW-Authenticate", v)
	}
}

// toRealm turns a token request that rewriteRealm routed through the
// registry back into one to the realm it names, if that is trusted.
func (c *call) toRealm(req *http.Request) *http.Request {
	rest, ok := strings.CutPrefix(req.URL.Path, realmPrefix)
	if !ok || req.URL.Host != c.registry {
		return req
	}
	scheme, rest, _ := strings.Cut(rest, "/")
	host, path, _ := strings.Cut(rest, "/")
	if (scheme != "http" && scheme != "https") || !c.trusted(host) {
		return req
	}
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.URL.Path, out.URL.RawPath = scheme, host, "/"+path, ""
	out.Host = host
	return out
}
