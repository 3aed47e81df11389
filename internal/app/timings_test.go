package app

import (
	"context"
	"encoding/json"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/timings"
	"github.com/inlinecache/action/internal/verify"
)

// newestRecord reads the newest step timings record beside subject
// (repository@digest); nil when there is none.
func newestRecord(t *testing.T, subject string) *timings.Record {
	t.Helper()
	v := verify.New()
	src := timings.Read(context.Background(), v, "", subject)
	if src.Record == nil && !strings.HasPrefix(src.Note, "no step timings refer to") {
		t.Fatalf("read the step timings beside %s: %s", subject, src.Note)
	}
	return src.Record
}

// A build whose cache source image has step timings: the result, the
// summary and cache-report say what its cached step took when it ran, and
// the build's own record, pushed beside the verified digest in every
// repository, carries that run time on for the next build.
func TestStepTimingsSavings(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	source := registrytest.Push(t, reg+"/app:main", registrytest.Image(t, "linux/amd64", 2, registrytest.Valid))
	_, sourceDigest, _ := strings.Cut(source, "@")
	copyRan, makeRan := 4.2, 80.0
	rec := timings.Record{Version: 1, Created: time.Now().Add(-time.Hour), Steps: []timings.Step{
		{Name: "[1/2] COPY a /a", Seconds: copyRan, RanSeconds: &copyRan},
		{Name: "[2/2] RUN make", Seconds: 80, RanSeconds: &makeRan},
	}}
	if _, err := timings.Push(context.Background(), verify.New(), source, rec); err != nil {
		t.Fatal(err)
	}
	f := &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 3, registrytest.Valid)}
	r := runApp(t, f, map[string]string{"tags": reg + "/app:main\n" + reg + "/mirror/app:main", "push": "true"}, nil)
	if r.code != 0 || r.outputs["cache-verified"] != "true" {
		t.Fatalf("exit %d, cache-verified %q\n%s", r.code, r.outputs["cache-verified"], r.stdout)
	}
	// The fake build caches [1/2] COPY and runs [2/2] RUN make; its stream
	// times no import or export.
	line := "time saved: 1 cached step took 4.2 s when it ran (build of " + sourceDigest + "); this build spent 0.0 s outside its steps (0.0 s importing cache, 0.0 s exporting and pushing, 0.0 s in cached steps pulling their layers, 0.0 s other): net 4.2 s saved"
	if !strings.Contains(r.stdout, line) {
		t.Errorf("the result lacks %q:\n%s", line, r.stdout)
	}
	if !strings.Contains(r.summary, "| 1 of 1 | 4.2 s | 0.0 s | 0.0 s | 0.0 s | 0.0 s | **4.2 s saved** |") {
		t.Errorf("the summary lacks the savings row:\n%s", r.summary)
	}
	var rep struct {
		Savings timings.Savings `json:"savings"`
	}
	if err := json.Unmarshal([]byte(r.outputs["cache-report"]), &rep); err != nil {
		t.Fatal(err)
	}
	s := rep.Savings
	if s.Verdict != timings.Saved || s.CachedSteps != 1 || s.MatchedSteps != 1 || s.SavedSeconds != 4.2 || s.NetSeconds != 4.2 ||
		len(s.Steps) != 1 || s.Steps[0].Name != "[1/2] COPY a /a" || s.Steps[0].Image != sourceDigest ||
		len(s.Sources) != 2 || s.Sources[0].Ref != reg+"/app:main" || s.Sources[0].Matched != 1 || s.Sources[1].Note != "not found" {
		t.Errorf("cache-report savings = %+v", s)
	}

	digest := r.outputs["digest"]
	for _, repo := range []string{reg + "/app", reg + "/mirror/app"} {
		subject := repo + "@" + digest
		if !strings.Contains(r.stdout, "step timings: recorded beside "+subject+" as sha256:") {
			t.Errorf("the log does not say the record was pushed beside %s:\n%s", subject, r.stdout)
		}
		got := newestRecord(t, subject)
		if got == nil {
			t.Fatalf("no record beside %s", subject)
		}
		if len(got.Steps) != 2 || !got.Steps[0].Cached || got.Steps[0].RanSeconds == nil || *got.Steps[0].RanSeconds != copyRan ||
			got.Steps[1].Cached || got.Steps[1].Seconds != 0.1 || got.Steps[1].RanSeconds == nil || *got.Steps[1].RanSeconds != 0.1 {
			b, _ := json.Marshal(got)
			t.Errorf("record beside %s = %s", subject, b)
		}
	}
	if strings.Contains(r.stdout, "::warning::step timings") {
		t.Errorf("a warning on the step timings:\n%s", r.stdout)
	}
}

// A cache source image with no step timings (pushed before them, or with
// step-timings: false) gives no figure and says why.
func TestStepTimingsNoRecord(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	source := registrytest.Push(t, reg+"/app:main", registrytest.Image(t, "linux/amd64", 2, registrytest.Valid))
	_, sourceDigest, _ := strings.Cut(source, "@")
	r := runApp(t, &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 3, registrytest.Valid)}, map[string]string{"tags": reg + "/app:main", "push": "true"}, nil)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	want := "time saved: no figure: no cache source has step timings\n  " + reg + "/app:main: no step timings refer to " + sourceDigest + " (built without step-timings, or pushed by another tool)"
	if !strings.Contains(r.stdout, want) {
		t.Errorf("the result lacks %q:\n%s", want, r.stdout)
	}
	if !strings.Contains(r.outputs["cache-report"], `"savings":{"verdict":"unknown","cachedSteps":1,"sources":[`) || strings.Contains(r.outputs["cache-report"], "savedSeconds") {
		t.Errorf("cache-report savings invents a figure or lacks the verdict: %s", r.outputs["cache-report"])
	}
}

// step-timings: false reads nothing and pushes nothing.
func TestStepTimingsOff(t *testing.T) {
	t.Parallel()
	var referrers atomic.Int32
	inner := registry.New(registry.Logger(log.New(discardLog{}, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.Contains(req.URL.Path, "/referrers/") || strings.Contains(req.URL.Path, "/manifests/sha256-") {
			referrers.Add(1)
		}
		inner.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	reg := strings.TrimPrefix(srv.URL, "http://")
	registrytest.Push(t, reg+"/app:main", registrytest.Image(t, "linux/amd64", 2, registrytest.Valid))
	r := runApp(t, &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 3, registrytest.Valid)},
		map[string]string{"tags": reg + "/app:main", "push": "true", "step-timings": "false"}, nil)
	if r.code != 0 || r.outputs["cache-verified"] != "true" {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	if n := referrers.Load(); n != 0 {
		t.Errorf("%d referrer requests with step-timings: false", n)
	}
	if got := newestRecord(t, reg+"/app@"+r.outputs["digest"]); got != nil {
		t.Errorf("a record was pushed: %+v", got)
	}
	if strings.Contains(r.stdout, "step timings") || strings.Contains(r.stdout, "time saved") || strings.Contains(r.outputs["cache-report"], "savings") {
		t.Errorf("step timings shown though off:\n%s\n%s", r.stdout, r.outputs["cache-report"])
	}
}

// A registry that refuses the artifact: a warning naming the registry and
// what it said; the step passes and the tags are set.
func TestStepTimingsRefused(t *testing.T) {
	t.Parallel()
	inner := registry.New(registry.Logger(log.New(discardLog{}, "", 0)))
	// The image is a Docker manifest; the artifact is OCI's.
	srv := httptest.NewServer(registrytest.Refusing(inner, func(req *http.Request) bool {
		return req.Method == http.MethodPut && req.Header.Get("Content-Type") == "application/vnd.oci.image.manifest.v1+json"
	}, "artifacts are not allowed here"))
	t.Cleanup(srv.Close)
	reg := strings.TrimPrefix(srv.URL, "http://")
	r := runApp(t, &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 3, registrytest.Valid)}, map[string]string{"tags": reg + "/app:main", "push": "true"}, nil)
	if r.code != 0 || r.outputs["cache-verified"] != "true" {
		t.Fatalf("exit %d, cache-verified %q\n%s", r.code, r.outputs["cache-verified"], r.stdout)
	}
	subject := reg + "/app@" + r.outputs["digest"]
	for _, want := range []string{
		"::warning::step timings were not recorded beside " + subject + " (step-timings: false turns this off; the build and its verification stand): push " + reg + "/app@sha256:",
		"registry " + reg + ": refused the push to app (403 Forbidden)",
		"artifacts are not allowed here",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("log lacks %q:\n%s", want, r.stdout)
		}
	}
	if registrytest.Head(t, reg+"/app:main") != r.outputs["digest"] {
		t.Errorf("the tag was not set after a refused record")
	}
}
