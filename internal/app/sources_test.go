package app

import (
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/inlinecache/action/internal/registrytest"
)

// A cache source that is an image without cache metadata imports nothing,
// silently in BuildKit: the plan says so as a warning before the build, the
// build goes on, and the result, summary and report list it.
func TestSourceWithoutCacheMetadataWarns(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	registrytest.Push(t, reg+"/base:plain", registrytest.Image(t, "linux/amd64", 2, registrytest.None))
	f := &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 3, registrytest.Valid)}
	r := runApp(t, f, map[string]string{"tags": reg + "/app:main", "push": "true", "cache-from": "type=registry,ref=" + reg + "/base:plain"}, nil)
	if r.code != 0 || r.outputs["cache-verified"] != "true" {
		t.Fatalf("exit %d, cache-verified %q\n%s", r.code, r.outputs["cache-verified"], r.stdout)
	}
	warning := "::warning::cache source " + reg + "/base:plain: an image without cache metadata (linux/amd64): importing it imports nothing."
	w, build := strings.Index(r.stdout, warning), strings.Index(r.stdout, "::group::inline-cache: build")
	if w < 0 || build < w {
		t.Errorf("no warning %q before the build group:\n%s", warning, r.stdout)
	}
	if !strings.Contains(r.stdout, "cache source "+reg+"/app:main: not found (nothing pushed there yet") {
		t.Errorf("the log does not say the pushed tag is not found yet:\n%s", r.stdout)
	}
	if !strings.Contains(r.summary, "| `"+reg+"/base:plain` | :warning: image without cache metadata | nothing |") {
		t.Errorf("summary lacks the source row:\n%s", r.summary)
	}
	for _, want := range []string{`"ref":"` + reg + `/base:plain","state":"no-cache"`, `"reason":"no-source"`} {
		if !strings.Contains(r.outputs["cache-report"], want) {
			t.Errorf("cache-report lacks %s: %s", want, r.outputs["cache-report"])
		}
	}
	if !strings.Contains(r.stdout, "why: 1 step ran: 1 because no cache source was imported (0.1 s)") {
		t.Errorf("the result does not say why the step ran:\n%s", r.stdout)
	}
}

// The source check runs beside the build: a registry that answers the
// check only once the build has started must not hold the build up.
func TestSourceCheckRunsBesideTheBuild(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	var armed atomic.Bool // after the test's own push
	inner := registry.New(registry.Logger(log.New(discardLog{}, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if armed.Load() && strings.Contains(req.URL.Path, "/slow/manifests/") {
			select {
			case <-started:
			case <-time.After(time.Minute):
				t.Error("the build did not start while the source check waited")
			}
		}
		inner.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	reg := strings.TrimPrefix(srv.URL, "http://")
	registrytest.Push(t, reg+"/slow:main", registrytest.Image(t, "linux/amd64", 2, registrytest.Valid))
	armed.Store(true)
	f := &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 3, registrytest.Valid), started: started}
	r := runApp(t, f, map[string]string{"tags": reg + "/app:main", "push": "true", "cache-from": "type=registry,ref=" + reg + "/slow:main"}, nil)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	line := "cache source " + reg + "/slow:main: inline cache for linux/amd64"
	l, build := strings.Index(r.stdout, line), strings.Index(r.stdout, "::group::inline-cache: build")
	if l < 0 || build < l {
		t.Errorf("the plan group does not show %q:\n%s", line, r.stdout)
	}
}

type discardLog struct{}

func (discardLog) Write(p []byte) (int, error) { return len(p), nil }

// The gates: min-cache-hit below the build's cached share fails the step
// under verify: strict and warns under warn; require-cache-source passes a
// first build and fails when what exists imports nothing.
func TestCacheGates(t *testing.T) {
	t.Parallel()
	// The fake build caches 1 of 2 steps (50%).
	for _, tc := range []struct {
		name   string
		in     map[string]string
		plain  bool // a source without cache metadata at reg/base:plain
		cached bool // a valid previous push at reg/app:main
		code   int
		want   []string
	}{
		{name: "min-cache-hit met", in: map[string]string{"min-cache-hit": "50"}, cached: true, code: 0},
		{name: "min-cache-hit strict", in: map[string]string{"min-cache-hit": "80%"}, cached: true, code: ExitFailed,
			want: []string{"::error title=Cache gate not met::min-cache-hit 80%25: only 1 of 2 steps (50%25) came from the cache"}},
		{name: "min-cache-hit warn", in: map[string]string{"min-cache-hit": "80", "verify": "warn"}, cached: true, code: 0,
			want: []string{"::warning title=Cache gate not met::min-cache-hit 80%25: only 1 of 2 steps (50%25) came from the cache (verify: warn, so the step passes)"}},
		{name: "min-cache-hit without a source", in: map[string]string{"min-cache-hit": "80"}, code: 0,
			want: []string{"min-cache-hit 80%: not applied, no cache source was imported"}},
		{name: "require-cache-source first build", in: map[string]string{"require-cache-source": "true"}, code: 0,
			want: []string{"require-cache-source: no cache source exists yet (", "a first build, so the gate passes"}},
		{name: "require-cache-source imported", in: map[string]string{"require-cache-source": "true"}, cached: true, code: 0},
		{name: "require-cache-source nothing importable", in: map[string]string{"require-cache-source": "true"}, plain: true, code: ExitFailed,
			want: []string{"::error title=Cache gate not met::require-cache-source: none of the cache sources could be imported: cache source "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := registrytest.Serve(t)
			in := map[string]string{"tags": reg + "/app:main", "push": "true"}
			for k, v := range tc.in {
				in[k] = v
			}
			if tc.cached {
				registrytest.Push(t, reg+"/app:main", registrytest.Image(t, "linux/amd64", 2, registrytest.Valid))
			}
			if tc.plain {
				registrytest.Push(t, reg+"/base:plain", registrytest.Image(t, "linux/amd64", 2, registrytest.None))
				in["cache-from"] = "type=registry,ref=" + reg + "/base:plain"
			}
			r := runApp(t, &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 3, registrytest.Valid)}, in, nil)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\n%s", r.code, tc.code, r.stdout)
			}
			if r.outputs["cache-verified"] != "true" {
				t.Errorf("cache-verified %q: a gate does not change the verdict", r.outputs["cache-verified"])
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("log lacks %q:\n%s", w, r.stdout)
				}
			}
			if tc.code == 0 && strings.Contains(r.stdout, "Cache gate not met::") && !strings.Contains(tc.name, "warn") {
				t.Errorf("a gate that passes is reported as not met:\n%s", r.stdout)
			}
			if len(tc.want) > 0 && !strings.Contains(r.outputs["cache-report"], `"gates":[{"input":`) {
				t.Errorf("cache-report lacks the gates: %s", r.outputs["cache-report"])
			}
		})
	}
}

// Cache sources outside a registry (type=local) cannot be checked: the
// gates say they are not applied instead of failing the build, and the
// misses do not claim there was no source.
func TestGatesWithUncheckableSources(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	in := map[string]string{"tags": reg + "/app:main", "push": "false", "cache-from": "type=local,src=" + t.TempDir(),
		"min-cache-hit": "80", "require-cache-source": "true"}
	r := runApp(t, &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 3, registrytest.Valid)}, in, nil)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	if !strings.Contains(r.stdout, "min-cache-hit and require-cache-source: not applied: the cache sources are not in a registry") {
		t.Errorf("the gates do not say why they were not applied:\n%s", r.stdout)
	}
	if strings.Contains(r.outputs["cache-report"], `"reason":"no-source"`) {
		t.Errorf("misses claim no source: %s", r.outputs["cache-report"])
	}
}
