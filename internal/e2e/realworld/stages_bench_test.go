//go:build linux

package realworld

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inlinecache/action/internal/e2e/harness"
)

// pushCounter is the test registry behind a proxy on loopback that counts
// the bytes of every blob upload through it (what a build pushed) and of
// every blob download (what a build pulled of the images and caches it
// imports; base images come from the builder's mirror, not through here).
type pushCounter struct {
	host   string
	bytes  atomic.Int64
	pulled atomic.Int64
}

func newPushCounter(b *testing.B) *pushCounter {
	target, err := url.Parse("http://" + harness.Env.Registry)
	if err != nil {
		b.Fatal(err)
	}
	c := &pushCounter{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && (r.Method == http.MethodPut || r.Method == http.MethodPatch || r.Method == http.MethodPost) && strings.Contains(r.URL.Path, "/blobs/uploads/") {
			r.Body = countingBody{r.Body, &c.bytes}
		}
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			w = countingWriter{w, &c.pulled}
		}
		proxy.ServeHTTP(w, r)
	}))
	b.Cleanup(srv.Close)
	c.host = strings.TrimPrefix(srv.URL, "http://")
	return c
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// stageContender is one way to keep a project's builder stages cached.
type stageContender struct {
	name string
	// inputs adds to the build's inputs, given the image repository.
	inputs func(repo string) map[string]string
}

var stageContenders = []stageContender{
	{"inline", func(string) map[string]string { return map[string]string{"cache-stages": "off"} }},
	// What the stage warning told users to write by hand before
	// cache-stages existed.
	{"hand-mode-max", func(repo string) map[string]string {
		return map[string]string{"cache-stages": "off",
			"cache-to":   "type=registry,ref=" + repo + ":handcache,mode=max",
			"cache-from": "type=registry,ref=" + repo + ":handcache"}
	}},
	{"images", func(string) map[string]string { return map[string]string{"cache-stages": "images"} }},
	{"registry", func(string) map[string]string { return map[string]string{"cache-stages": "registry"} }},
}

// BenchmarkStageCaches builds each real-world project as a CI pipeline on
// cold runners would, once per way of caching its builder stages, side by
// side on the remote builder: a first build on an empty builder, then,
// on an emptied builder, a rebuild after a one-file source change. It
// reports, per rebuild, the wall time, the seconds of steps that ran,
// how many builder steps before the changed COPY ran (the target is none),
// and the bytes each build pushed; and the first build's wall time and
// bytes. It asserts what the builds must do, never how long they take.
func BenchmarkStageCaches(b *testing.B) {
	baseImages(b)
	counter := newPushCounter(b)
	for _, p := range realProjects {
		for _, c := range stageContenders {
			b.Run(p.name+"/"+c.name, func(b *testing.B) {
				var rounds []stageMetrics
				for range b.N {
					rounds = append(rounds, stageRound(b, counter, p, c))
				}
				reportMedians(b, rounds)
			})
		}
	}
}

// stageMetrics are one round's figures, by the unit they are reported in.
type stageMetrics map[string]float64

// reportMedians reports each figure's median over the rounds (a round is
// a first build and a rebuild: minutes, so few of them).
func reportMedians(b *testing.B, rounds []stageMetrics) {
	if len(rounds) == 0 {
		return
	}
	for unit := range rounds[0] {
		var vs []float64
		for _, r := range rounds {
			vs = append(vs, r[unit])
		}
		slices.Sort(vs)
		b.ReportMetric(vs[len(vs)/2], unit)
	}
}

// stageRound is one first build and one rebuild after the change.
// timedBuild runs the action once with in, on an emptied builder when
// prune, timing only the run; it is the run, its time and the bytes it
// pushed and pulled. A run that fails or does not verify ends the bench.
func timedBuild(b *testing.B, counter *pushCounter, what string, in map[string]string, prune bool) (run, time.Duration, int64, int64) {
	if prune {
		harness.Prune(b)
	}
	pushed, pulled := counter.bytes.Load(), counter.pulled.Load()
	b.StartTimer()
	start := time.Now()
	r := actionIn(b, harness.Env.Environ(), in)
	took := time.Since(start)
	b.StopTimer()
	if r.Code != 0 || r.Outputs["cache-verified"] != "true" {
		b.Fatalf("%s: exit %d, cache-verified %q\n%s", what, r.Code, r.Outputs["cache-verified"], harness.ResultBlock(r.Log))
	}
	return r, took, counter.bytes.Load() - pushed, counter.pulled.Load() - pulled
}

func stageRound(b *testing.B, counter *pushCounter, p realProject, c stageContender) stageMetrics {
	b.StopTimer()
	ctx := project(b, p.name)
	// A repository of its own per round: every blob is pushed anew.
	image := counter.host + "/bench/" + p.name + "-" + c.name + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	in := map[string]string{
		"context":    ctx,
		"tags":       image + ":main",
		"push":       "true",
		"build-args": strings.Join(p.buildArgs(b), "\n"),
	}
	if h := hostEntries(b); h != "" {
		in["add-hosts"] = h
	}
	for k, v := range c.inputs(image) {
		in[k] = v
	}
	build := func() (run, time.Duration, int64, int64) {
		return timedBuild(b, counter, p.name+" "+c.name, in, true)
	}
	_, firstTook, firstBytes, _ := build()
	// An unchanged rebuild on an emptied builder: every step is cached,
	// so what it takes is what the mode costs when nothing changed.
	u, unchangedTook, _, unchangedPulled := build()
	b.Logf("RESULT %s %s unchanged:\n%s", p.name, c.name, harness.ResultBlock(u.Log))

	p.change(b, ctx)
	r, took, pushed, pulled := build()
	rep := parseReport(b, r)
	var ranSeconds float64
	ran, before := 0, 0
	for _, s := range rep.Build.Steps {
		if s.State != "ran" {
			continue
		}
		ran++
		ranSeconds += s.Seconds
		// A builder stage's step that ran though the change comes after it.
		if s.Stage == "build" && !hasPrefixAny("] "+s.Text, p.mustRun) {
			before++
		}
	}
	// The hand-written setup is measured as users have it, misses and all
	// (with the image tags imported beside the mode=max cache, BuildKit
	// can follow a shared first step into the image's chain).
	if (c.name == "images" || c.name == "registry") && before > 0 {
		b.Errorf("%s %s: %d builder steps before the changed COPY ran, want none", p.name, c.name, before)
	}
	for _, sc := range rep.StageCaches {
		if sc.Verified != "true" {
			b.Errorf("%s %s: stage cache %s not verified: %s", p.name, c.name, sc.Ref, sc.Error)
		}
	}
	b.Logf("RESULT %s %s after changing %s:\n%s", p.name, c.name, p.file, harness.ResultBlock(r.Log))
	return stageMetrics{
		"first-s":             firstTook.Seconds(),
		"first-MB":            float64(firstBytes) / (1 << 20),
		"rebuild-s":           took.Seconds(),
		"ran-s":               ranSeconds,
		"ran-steps":           float64(ran),
		"ran-before-change":   float64(before),
		"rebuild-MB":          float64(pushed) / (1 << 20),
		"rebuild-pulled-MB":   float64(pulled) / (1 << 20),
		"unchanged-s":         unchangedTook.Seconds(),
		"unchanged-pulled-MB": float64(unchangedPulled) / (1 << 20),
	}
}
