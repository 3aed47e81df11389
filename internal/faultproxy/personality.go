package faultproxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Personality is a hosted registry's behaviour where it differs from
// distribution's, played by the proxy in front of the real registry. Each
// behaviour cites where it is documented or reported.
type Personality string

// Personalities.
const (
	// Plain passes every request on as it is.
	Plain Personality = ""
	// GHCR has no referrers API: it answers 404, so artifacts are listed
	// with the OCI referrers tag schema alone (actions/attest-build-
	// provenance#91, docker/roadmap#724).
	GHCR Personality = "ghcr"
	// GitLab has no referrers API (gitlab container-registry#1205), and
	// resolves the tag sha256-<hex> to the manifest sha256:<hex> itself, so
	// the tag schema's index, read there, is the subject image
	// (oras-project/oras-go#1396).
	GitLab Personality = "gitlab"
	// Quay gives a manifest pushed by digest alone a temporary tag that
	// expires (about an hour; Proxy.Expiry here), after which the manifest
	// is garbage-collected, unless a tag names it (or an index a tag names
	// lists it) by then (quay/quay#7024).
	Quay Personality = "quay"
	// ECR leaves Docker-Content-Digest off manifest answers
	// (aws/containers-roadmap#1931; also reported of other registries on
	// HEAD, distribution/distribution#3792, krustlet/krustlet#667: both
	// are dropped here); with immutable tags it refuses any re-push of an
	// existing tag (aws/containers-roadmap#862, attunehq/hurry#281); it
	// throttles PutImage with 429 at about 10 requests a second
	// (containerd/containerd#10447); and older ECR answered a manifest
	// with a subject with OCI-Subject while having no referrers API
	// (sigstore/sigstore-js#1183).
	ECR Personality = "ecr"
	// DockerHub has no referrers API (docker/roadmap#724), and mounts a
	// blob from another repository only when the token grants pull on
	// it; without, it answers the mount request with a plain upload
	// session, which is what this proxy always does.
	DockerHub Personality = "dockerhub"
)

// Personalities are every hosted behaviour the proxy plays.
var Personalities = []Personality{GHCR, GitLab, Quay, ECR, DockerHub}

// persona is a personality's state.
type persona struct {
	mu sync.Mutex
	// byDigest: manifests Quay received by digest alone, and when.
	byDigest map[string]time.Time
	// puts: ECR's PutImage token bucket.
	tokens    float64
	last      time.Time
	throttled int
}

// Throttled is how many PUTs ECR's throttling answered 429.
func (p *Proxy) Throttled() int {
	p.mu.Lock()
	st := p.persona
	p.mu.Unlock()
	if st == nil {
		return 0
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.throttled
}

var (
	manifestPath  = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)
	referrersPath = regexp.MustCompile(`^/v2/(.+)/referrers/([^/]+)$`)
	aliasTag      = regexp.MustCompile(`^sha256-([0-9a-f]{64})$`)
)

// As makes the proxy play personality pers (Plain: none).
func (p *Proxy) As(pers Personality) *Proxy {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.personality = pers
	p.persona = &persona{byDigest: map[string]time.Time{}, tokens: float64(p.PutBurst), last: time.Now()}
	return p
}

// forward passes r to the registry as the personality would answer it.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	pers, st := p.personality, p.persona
	p.mu.Unlock()
	if pers == Plain {
		p.rp.ServeHTTP(w, r)
		return
	}
	if m := referrersPath.FindStringSubmatch(r.URL.Path); m != nil && pers != Quay {
		// No referrers API: the 404 distribution answers for an
		// unknown route, whatever the registry behind has.
		writeError(w, http.StatusNotFound, "NOT_FOUND", "404 page not found")
		return
	}
	m := manifestPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		if pers == DockerHub && r.Method == http.MethodPost && r.URL.Query().Has("mount") {
			// The mount is ignored: a plain upload session.
			q := r.URL.Query()
			q.Del("mount")
			q.Del("from")
			r.URL.RawQuery = q.Encode()
		}
		p.rp.ServeHTTP(w, r)
		return
	}
	repo, ref := m[1], m[2]
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch pers {
	case GitLab:
		if a := aliasTag.FindStringSubmatch(ref); a != nil && read && p.upstreamHas(r, repo, "sha256:"+a[1]) {
			r.URL.Path = "/v2/" + repo + "/manifests/sha256:" + a[1]
		}
	case Quay:
		if p.quayExpired(st, r, repo, ref) {
			writeError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
			return
		}
	case ECR:
		var digest, subject string
		if r.Method == http.MethodPut {
			digest, subject, _ = readManifest(r)
		}
		switch {
		case r.Method == http.MethodPut && !p.ecrTake(st):
			writeError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "Rate exceeded")
			return
		case r.Method == http.MethodPut && !strings.HasPrefix(ref, "sha256:") && !p.MutableTags:
			if prev := p.upstreamDigest(r, repo, ref); prev != "" && prev != digest {
				writeError(w, http.StatusBadRequest, "TAG_INVALID", fmt.Sprintf(
					"The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", ref, repo))
				return
			}
		}
		rec := httptest.NewRecorder()
		p.rp.ServeHTTP(rec, r)
		h := rec.Header()
		if read {
			h.Del("Docker-Content-Digest")
		}
		if subject != "" && rec.Code/100 == 2 {
			h.Set("OCI-Subject", subject)
		}
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	p.rp.ServeHTTP(w, r)
}

// quayExpired records a manifest pushed by digest alone, forgets it when
// a tag names it, and says whether a read of one is past its expiry.
func (p *Proxy) quayExpired(st *persona, r *http.Request, repo, ref string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case r.Method == http.MethodPut && strings.HasPrefix(ref, "sha256:"):
		if _, ok := st.byDigest[repo+"@"+ref]; !ok {
			st.byDigest[repo+"@"+ref] = time.Now()
		}
	case r.Method == http.MethodPut:
		// A tag keeps its manifest and what an index under it names.
		d, _, children := readManifest(r)
		for _, k := range append(children, d) {
			delete(st.byDigest, repo+"@"+k)
		}
	case strings.HasPrefix(ref, "sha256:"):
		at, ok := st.byDigest[repo+"@"+ref]
		return ok && time.Since(at) > p.Expiry
	}
	return false
}

// ecrTake takes a PutImage token: PutRate a second, PutBurst at once.
func (p *Proxy) ecrTake(st *persona) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := time.Now()
	st.tokens = min(float64(p.PutBurst), st.tokens+now.Sub(st.last).Seconds()*p.PutRate)
	st.last = now
	if st.tokens < 1 {
		st.throttled++
		return false
	}
	st.tokens--
	return true
}

// upstreamHas reports whether the registry behind has repo@digest.
func (p *Proxy) upstreamHas(r *http.Request, repo, ref string) bool {
	return p.upstreamDigest(r, repo, ref) != ""
}

// upstreamDigest is the digest repo:ref resolves to behind the proxy, or
// "" when it does not.
func (p *Proxy) upstreamDigest(r *http.Request, repo, ref string) string {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodHead, p.upstream.String()+"/v2/"+repo+"/manifests/"+ref, nil)
	if err != nil {
		return ""
	}
	req.Header.Set("Accept", strings.Join([]string{
		"application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
		"application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json",
	}, ","))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return resp.Header.Get("Docker-Content-Digest")
}

// readManifest reads a manifest PUT's body and puts it back: its digest,
// its subject's if it has one, and the manifests an index names.
func readManifest(r *http.Request) (digest, subject string, children []string) {
	if r.Body == nil {
		return "", "", nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	if err != nil {
		return "", "", nil
	}
	type desc struct {
		Digest string `json:"digest"`
	}
	var m struct {
		Subject   *desc  `json:"subject"`
		Manifests []desc `json:"manifests"`
	}
	if json.Unmarshal(b, &m) == nil {
		if m.Subject != nil {
			subject = m.Subject.Digest
		}
		for _, c := range m.Manifests {
			children = append(children, c.Digest)
		}
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256(b)), subject, children
}

func writeError(w http.ResponseWriter, code int, errCode, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"code": errCode, "message": msg}}})
	_, _ = w.Write(b)
}
