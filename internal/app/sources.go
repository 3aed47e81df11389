package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/inlinecache/action/internal/gates"
	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/misses"
	"github.com/inlinecache/action/internal/verify"
)

// sourceWait is how long the plan group waits, with the build already
// started, for the cache source check. A check that takes longer is
// reported with the result instead: the build never waits for it.
const sourceWait = 2 * time.Second

// sourceCheck is the check of the build's cache sources, running beside
// the build.
type sourceCheck struct {
	done    chan struct{}
	sources []verify.Source // set before done closes
	shown   bool            // reported in the plan group
}

// startSourceCheck starts checking the plan's cache sources: what a build
// of the platforms being built imports from each.
func (r *buildRun) startSourceCheck(ctx context.Context) {
	if len(r.plan.CacheSources) == 0 {
		return
	}
	c := &sourceCheck{done: make(chan struct{})}
	r.check = c
	go func() {
		defer close(c.done)
		c.sources = r.v.CheckSources(ctx, r.plan.CacheSources, r.s.Platforms)
	}()
}

// showSources reports the checked sources in the plan group, waiting at
// most sourceWait; it returns the warnings, for after the group.
func (r *buildRun) showSources() (warnings []string) {
	c := r.check
	if c == nil {
		return nil
	}
	select {
	case <-c.done:
	case <-time.After(sourceWait):
		r.log.Infof("cache sources: still being checked after %s; the result shows them", sourceWait)
		return nil
	}
	c.shown = true
	return r.logSources(c.sources)
}

// logSources logs one line per source and returns those worth a warning.
func (r *buildRun) logSources(sources []verify.Source) (warnings []string) {
	for _, s := range sources {
		if s.Warns() {
			warnings = append(warnings, s.Message())
			continue
		}
		r.log.Infof("%s", s.Message())
	}
	return warnings
}

// collectSources waits for the source check (bounded by its own timeout)
// and keeps the result; the sources not shown in the plan are logged now.
func (r *buildRun) collectSources() {
	c := r.check
	if c == nil || r.res.Sources != nil {
		return
	}
	<-c.done
	r.res.Sources = c.sources
	if !c.shown {
		for _, w := range r.logSources(c.sources) {
			r.log.Warning(w)
		}
	}
}

// explain says why the build's steps that ran were not cached.
func (r *buildRun) explain() {
	if r.res.Build == nil {
		return
	}
	f := misses.Facts{Analysis: r.plan.Stages, NoCache: r.s.NoCache, StageCaches: len(r.plan.StageImages) > 0 || r.plan.RegistryCache != ""}
	switch {
	case r.check != nil:
		f.Sources = r.res.Sources
	case !r.uncheckable():
		// No source at all: every step that ran ran for want of one.
		f.Sources = []verify.Source{}
	}
	e := misses.Explain(*r.res.Build, f)
	r.res.Misses = &e
}

// gate applies min-cache-hit and require-cache-source. A failed gate
// fails the step under verify: strict and warns otherwise; the tags stay
// where tag-after-verify put them: the image and its cache are sound, it
// is this build's use of the cache that fell short.
func (r *buildRun) gate() error {
	b := r.res.Build
	if b == nil {
		return nil
	}
	c := r.s.CacheSources
	if c.MinCacheHit == 0 && !c.RequireCacheSource {
		return nil
	}
	if r.uncheckable() {
		r.log.Infof("%s and %s: not applied: the cache sources are not in a registry (cache-from type=local, gha, s3, …), so what they hold cannot be checked", inputs.MinCacheHit, inputs.RequireCacheSource)
		return nil
	}
	r.res.Gates = gates.Check(c, gates.Steps{Cached: b.CachedSteps(), Total: b.TotalSteps()}, r.res.Sources)
	var failed []error
	for _, f := range r.res.Gates {
		switch {
		case !f.Failed:
			r.log.Infof("%s", f.Message)
		case r.s.Verify == inputs.VerifyStrict:
			failed = append(failed, errors.New(f.Message))
		default:
			r.log.WarningTitle("Cache gate not met", fmt.Sprintf("%s (verify: %s, so the step passes)", f.Message, r.s.Verify))
		}
	}
	if len(failed) > 0 {
		return titled(r.log, ExitFailed, "Cache gate not met", errors.Join(failed...))
	}
	return nil
}

// uncheckable reports whether the build imports cache only from sources
// the check cannot read: cache-from entries but none in a registry.
func (r *buildRun) uncheckable() bool {
	return len(r.plan.CacheSources) == 0 && len(r.s.CacheFrom) > 0
}

// heldWriter keeps what is written to it until release, then passes it
// on: the build's output waits while the plan group, with the cache
// source check the build started beside, is finished.
type heldWriter struct {
	mu   sync.Mutex
	w    io.Writer
	buf  bytes.Buffer
	held bool
}

func holdWriter(w io.Writer) *heldWriter { return &heldWriter{w: w, held: true} }

func (h *heldWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held {
		return h.buf.Write(p)
	}
	return h.w.Write(p)
}

// release writes out what was held and passes writes through from now on.
func (h *heldWriter) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.held {
		return
	}
	h.held = false
	_, _ = h.w.Write(h.buf.Bytes()) // the log's own writer: nowhere to report to
	h.buf.Reset()
}
