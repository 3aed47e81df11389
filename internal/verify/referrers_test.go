package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/timings"
	"github.com/inlinecache/action/internal/verify"
)

type quiet struct{}

func (quiet) Write(p []byte) (int, error) { return len(p), nil }

// serveRegistry serves ggcr's in-memory registry, with or without the OCI
// referrers API, through wrap when given.
func serveRegistry(t *testing.T, referrers bool, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(quiet{}, "", 0)), registry.WithReferrersSupport(referrers))
	if wrap != nil {
		h = wrap(h)
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func record(t *testing.T, created time.Time, seconds float64) timings.Record {
	t.Helper()
	return timings.Record{Version: 1, Created: created, Steps: []timings.Step{{Name: "[2/2] RUN make", Seconds: seconds, RanSeconds: &seconds}}}
}

func pushRecord(t *testing.T, v *verify.Verifier, subject string, rec timings.Record) string {
	t.Helper()
	d, err := timings.Push(context.Background(), v, subject, rec)
	if err != nil {
		t.Fatalf("push the record for %s: %v", subject, err)
	}
	return d
}

// Records pushed beside an image are listed as its referrers and read back
// byte for byte, on a registry with the referrers API and on one without
// (through the sha256-<hex> tag schema, which exists only there).
func TestReferrersRoundTrip(t *testing.T) {
	t.Parallel()
	for _, api := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers API", false: "tag schema"}[api], func(t *testing.T) {
			t.Parallel()
			reg := serveRegistry(t, api, nil)
			img := registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)
			subject := registrytest.Push(t, reg+"/app:main", img)
			other := registrytest.Push(t, reg+"/app:other", registrytest.Image(t, "linux/amd64", 3, registrytest.Valid))
			v := verify.New()
			ctx := context.Background()

			if got, err := v.Referrers(ctx, subject, timings.ArtifactType); err != nil || len(got) != 0 {
				t.Fatalf("before any push: %v, %v; want none, no error", got, err)
			}
			t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
			older := pushRecord(t, v, subject, record(t, t0, 10))
			newer := pushRecord(t, v, subject, record(t, t0.Add(time.Hour), 20))
			if older == newer {
				t.Fatal("two records made one artifact")
			}

			got, err := v.Referrers(ctx, subject, timings.ArtifactType)
			if err != nil {
				t.Fatal(err)
			}
			digests := map[string]string{}
			for _, d := range got {
				digests[d.Digest.String()] = d.Annotations[timings.CreatedAnnotation]
				if d.MediaType != types.OCIManifestSchema1 || d.ArtifactType != timings.ArtifactType {
					t.Errorf("referrer %s: media type %s, artifactType %q", d.Digest, d.MediaType, d.ArtifactType)
				}
			}
			want := map[string]string{older: "2026-03-04T05:06:07Z", newer: "2026-03-04T06:06:07Z"}
			if len(digests) != 2 || digests[older] != want[older] || digests[newer] != want[newer] {
				t.Errorf("referrers = %v, want %v", digests, want)
			}
			if none, err := v.Referrers(ctx, other, timings.ArtifactType); err != nil || len(none) != 0 {
				t.Errorf("another image's referrers: %v, %v; want none", none, err)
			}
			if none, err := v.Referrers(ctx, subject, "application/vnd.example.other"); err != nil || len(none) != 0 {
				t.Errorf("referrers of another artifactType: %v, %v; want none", none, err)
			}

			src := timings.Read(ctx, v, reg+"/app:main", subject)
			if src.Record == nil || src.Artifact != newer || src.Note != "" || *src.Record.Steps[0].RanSeconds != 20 {
				t.Fatalf("read = %+v, want the newer record %s", src, newer)
			}
			body, err := v.ReadReferrer(ctx, subject, got[0], timings.RecordLayer, timings.MaxRecordBytes)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := timings.Decode(body); err != nil {
				t.Errorf("the record read back does not decode: %v", err)
			}

			// The subject is the image, and the image is untouched.
			checkSubject(t, reg, newer, subject)
			if h := registrytest.Head(t, reg+"/app:main"); !strings.HasSuffix(subject, "@"+h) {
				t.Errorf("the tag moved to %s", h)
			}
			d, _ := name.NewDigest(subject)
			fallback := reg + "/app:" + strings.Replace(d.DigestStr(), ":", "-", 1)
			switch h := registrytest.Head(t, fallback); {
			case api && h != "":
				t.Errorf("the registry has the referrers API, yet %s was written", fallback)
			case !api && h == "":
				t.Errorf("no referrers API, and no %s", fallback)
			}
		})
	}
}

// checkSubject reads the artifact's manifest and checks its subject names
// the image by digest, media type and size, with the empty config.
func checkSubject(t *testing.T, reg, artifact, subject string) {
	t.Helper()
	d, err := name.NewDigest(reg + "/app@" + artifact)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(d)
	if err != nil {
		t.Fatal(err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Head(mustDigest(t, subject))
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject == nil || m.Subject.Digest != img.Digest || m.Subject.MediaType != img.MediaType || m.Subject.Size != img.Size {
		t.Errorf("subject = %+v, want %s %s %d", m.Subject, img.Digest, img.MediaType, img.Size)
	}
	if m.Config.MediaType != types.OCIEmptyJSON || m.Config.Size != 2 || m.ArtifactType != timings.ArtifactType || len(m.Layers) != 1 {
		t.Errorf("manifest = %+v", m)
	}
}

func mustDigest(t *testing.T, s string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A registry that refuses writes: the error names the registry and says
// what it answered; nothing is left behind.
func TestPushReferrerRefused(t *testing.T) {
	t.Parallel()
	var armed bool
	reg := serveRegistry(t, false, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if armed && r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": "DENIED", "message": "pushes are disabled here"}}})
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	subject := registrytest.Push(t, reg+"/app:main", registrytest.Image(t, "linux/amd64", 2, registrytest.Valid))
	armed = true
	v := verify.New()
	_, err := timings.Push(context.Background(), v, subject, record(t, time.Now(), 1))
	var re *verify.RegistryError
	if !errors.As(err, &re) || re.Registry != reg {
		t.Fatalf("err = %v, want a RegistryError naming %s", err, reg)
	}
	for _, want := range []string{"registry " + reg + ": refused the push to app (403 Forbidden)", "pushes are disabled here"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, lacks %q", err, want)
		}
	}
	if got, err := v.Referrers(context.Background(), subject, timings.ArtifactType); err != nil || len(got) != 0 {
		t.Errorf("after a refused push: %v, %v; want no referrer", got, err)
	}
}

// A registry that never answers the referrers listing: the call ends at
// the verify timeout, naming what it was reading.
func TestReferrersBounded(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	reg := serveRegistry(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/referrers/") {
				select {
				case <-r.Context().Done():
				case <-release:
				}
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	subject := registrytest.Push(t, reg+"/app:main", registrytest.Image(t, "linux/amd64", 2, registrytest.Valid))
	v := verify.New(verify.WithTimeout(300*time.Millisecond), verify.WithRetries(1, 0, 0, 0))
	done := make(chan error, 1)
	go func() {
		_, err := v.Referrers(context.Background(), subject, timings.ArtifactType)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "verification deadline of 300ms (verify-timeout) reached") || !strings.Contains(err.Error(), "/referrers/") {
			t.Errorf("err = %v, want the deadline naming the referrers request", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the listing was not bounded")
	}
}

// A record layer over the caller's limit is not read.
func TestReadReferrerLimit(t *testing.T) {
	t.Parallel()
	reg := serveRegistry(t, true, nil)
	subject := registrytest.Push(t, reg+"/app:main", registrytest.Image(t, "linux/amd64", 2, registrytest.Valid))
	v := verify.New()
	pushRecord(t, v, subject, record(t, time.Now(), 3))
	got, err := v.Referrers(context.Background(), subject, timings.ArtifactType)
	if err != nil || len(got) != 1 {
		t.Fatalf("referrers: %v, %v", got, err)
	}
	_, err = v.ReadReferrer(context.Background(), subject, got[0], timings.RecordLayer, 10)
	if err == nil || !strings.Contains(err.Error(), "over the 10-byte limit") {
		t.Errorf("err = %v, want the limit", err)
	}
}
