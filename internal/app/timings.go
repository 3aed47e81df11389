package app

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/report"
	"github.com/inlinecache/action/internal/timings"
	"github.com/inlinecache/action/internal/verify"
)

// stepTimings (step-timings) works out what the cache saved this build
// from the step timings beside its cache sources, for the result, and
// once the pushed image is verified records this build's beside it. It
// never fails the step: the build and its verification stand whatever the
// registry does with a record.
func (r *buildRun) stepTimings(ctx context.Context) {
	if !r.s.StepTimings || r.res.Build == nil {
		return
	}
	r.res.Savings = r.savings(ctx)
	r.recordTimings(ctx)
}

// savings reads the newest record beside each cache source image, side by
// side (each read bounded like a verification), and compares this build
// with them; nil when the build's sources were not checked.
func (r *buildRun) savings(ctx context.Context) *timings.Savings {
	if r.check == nil {
		return nil
	}
	srcs := make([]timings.Source, len(r.res.Sources))
	var wg sync.WaitGroup
	for i, s := range r.res.Sources {
		srcs[i] = timings.Source{Ref: s.Ref, Image: s.Digest}
		switch {
		case s.State == verify.SourceNotFound:
			srcs[i].Note = "not found"
		case s.State == verify.SourceDenied || s.State == verify.SourceUnreachable:
			srcs[i].Note = "could not be read"
		case s.Digest == "":
			srcs[i].Note = "no image digest"
		default:
			ref, err := r.v.ParseReference(s.Ref)
			if err != nil {
				srcs[i].Note = err.Error()
				continue
			}
			subject := ref.Context().Digest(s.Digest).String()
			wg.Add(1)
			go func() {
				defer wg.Done()
				srcs[i] = timings.Read(ctx, r.v, s.Ref, subject)
			}()
		}
	}
	wg.Wait()
	if !slices.ContainsFunc(srcs, func(s timings.Source) bool { return s.Image != "" }) {
		// Nothing found to compare with (a first build): the source
		// lines say so already.
		return nil
	}
	sv := timings.Compute(r.res.Build, srcs)
	for _, sr := range r.stages.all() {
		if b := sr.build; b != nil {
			sv.AddCost(b.Overhead())
		}
	}
	return &sv
}

// recordTimings pushes this build's record beside the verified image in
// every repository it went to; what a registry refuses is a warning.
func (r *buildRun) recordTimings(ctx context.Context) {
	rep := r.res.Report
	if r.res.Verdict != report.Verified || rep == nil || rep.Digest == "" {
		return
	}
	rec := timings.NewRecord(r.res.Build, time.Now(), r.res.Savings)
	r.image.record = &rec
	// The verify step read the image in each repository it went to.
	for _, ref := range r.image.refs {
		subject, err := r.v.ParseReference(ref)
		if err != nil {
			continue
		}
		r.recordBeside(ctx, subject.Context().Digest(rep.Digest).String())
	}
}

// recordBeside pushes this build's record referring to at (repo@digest):
// the image, or a verified stage cache, which a later build imports as a
// cache source and reads the record beside.
func (r *buildRun) recordBeside(ctx context.Context, at string) {
	if !r.s.StepTimings || r.image.record == nil {
		return
	}
	d, err := timings.Push(ctx, r.v, at, *r.image.record)
	if err != nil {
		r.log.Warning(fmt.Sprintf("step timings were not recorded beside %s (%s: false turns this off; the build and its verification stand): %v", at, inputs.StepTimings, err))
		return
	}
	r.log.Infof("step timings: recorded beside %s as %s", at, d)
}
