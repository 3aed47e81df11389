package app

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/plan"
	"github.com/inlinecache/action/internal/progress"
	"github.com/inlinecache/action/internal/report"
	"github.com/inlinecache/action/internal/verify"
)

// stageRun is one stage cache of cache-stages and what became of it. A
// stage cache that fails is a warning: the image is still built, pushed
// and verified.
type stageRun struct {
	img   plan.StageImage // images; the zero value for the registry cache
	build *progress.Build // the stage build (images)
	res   report.StageCache
}

// stageRuns are the plan's stage caches: the stage images, found by their
// stage, and the registry cache.
type stageRuns struct {
	images     []*stageRun
	registry   *stageRun       // nil without cache-stages registry
	imageBlobs *verify.BlobSet // the pushed image's blobs, once read
}

func newStageRuns(p plan.Plan) stageRuns {
	var rs stageRuns
	for _, img := range p.StageImages {
		ref := ""
		if len(img.Tags) > 0 {
			ref = img.Tags[0].Raw
		}
		rs.images = append(rs.images, &stageRun{img: img, res: report.StageCache{Mode: string(inputs.StagesImages), Stage: img.Stage, Ref: ref, Verdict: report.NotVerified}})
	}
	if c := p.RegistryCache; c != "" {
		rs.registry = &stageRun{res: report.StageCache{Mode: string(inputs.StagesRegistry), Ref: c, Verdict: report.NotVerified}}
	}
	return rs
}

// all are the stage caches in the order the report lists them.
func (rs stageRuns) all() []*stageRun {
	if rs.registry == nil {
		return rs.images
	}
	return append(slices.Clip(rs.images), rs.registry)
}

// image is the stage image of stage; nil when the plan has none.
func (rs stageRuns) image(stage string) *stageRun {
	for _, sr := range rs.images {
		if sr.img.Stage == stage {
			return sr
		}
	}
	return nil
}

// warnStage reports a stage cache that failed: a warning, and its row in
// the result says why.
func (r *buildRun) warnStage(sr *stageRun, msg string) {
	sr.res.Verdict = report.NotVerified
	if sr.res.Error == "" {
		sr.res.Error = msg
	}
	r.log.Warning(fmt.Sprintf("cache-stages %s: %s: %s; the image is built, pushed and verified without it", sr.res.Mode, sr.res.Label(), msg))
}

// buildStage runs one stage's cache build (images), before the image's,
// on the same builder.
func (r *buildRun) buildStage(ctx context.Context, st plan.Step, started func()) {
	sr := r.stages.image(st.Stage)
	if sr == nil {
		return
	}
	b, err := r.runBuild(ctx, st, started, nil)
	sr.build = b
	// Earlier stage builds ran this one's shared steps (a common base).
	var earlier []*progress.Build
	for _, o := range r.stages.images {
		if o != sr && o.build != nil {
			earlier = append(earlier, o.build)
		}
	}
	b.CreditRuns(earlier...)
	countStage(&sr.res, b, []string{st.Stage})
	sr.res.BuildSeconds = progress.Tenth(b.Wall.Seconds())
	sr.res.ExportSeconds = progress.Tenth(b.Export.Seconds())
	sr.res.PushSeconds = progress.Tenth(b.Push.Seconds())
	if err != nil {
		why := err.Error()
		if f := b.Failure; f != nil && f.Message != "" {
			why = fmt.Sprintf("%s (%v)", f.Message, err)
		}
		r.warnStage(sr, "its build failed: "+why)
		return
	}
	meta, err := r.readMetadata(sr.img.MetadataFile)
	if err != nil {
		r.warnStage(sr, err.Error())
		return
	}
	sr.res.Digest = meta.Digest
}

// takeStageRuns credits the stage builds with the steps the image's
// build found in the builder's cache because they ran there, and counts
// what the registry cache served.
func (r *buildRun) takeStageRuns(b *progress.Build) {
	var builds []*progress.Build
	for _, sr := range r.stages.images {
		if sr.build != nil {
			builds = append(builds, sr.build)
		}
	}
	b.CreditRuns(builds...)
	if c := r.stages.registry; c != nil {
		var names []string
		if a := r.plan.Stages; a != nil {
			for _, s := range a.BuildersWithSteps() {
				names = append(names, progress.StageName(s.Name, s.Index, false))
			}
		}
		countStage(&c.res, b, names)
		c.res.ExportSeconds = progress.Tenth(b.CacheExport().Seconds())
	}
}

// countStage fills a stage cache's step counts from the named stages of
// build b.
func countStage(res *report.StageCache, b *progress.Build, names []string) {
	res.Steps, res.Cached, res.Ran, res.RunSeconds = 0, 0, 0, 0
	for _, s := range b.Stages {
		for _, n := range names {
			if s.Name == n {
				res.Steps += s.Steps
				res.Cached += s.Cached
				res.Ran += s.Ran + s.Failed
				res.RunSeconds += s.Run.Seconds()
			}
		}
	}
	res.RunSeconds = progress.Tenth(res.RunSeconds)
}

// verifyStage reads a stage image back like the image, and what it keeps
// beyond the image's layers.
func (r *buildRun) verifyStage(ctx context.Context, st plan.Step) {
	sr := r.stages.image(st.Stage)
	if sr == nil || sr.res.Error != "" {
		return
	}
	if r.plan.ByDigest && sr.res.Digest == "" {
		r.warnStage(sr, "the stage build's metadata names no digest to read back")
		return
	}
	refs, err := pushedRefs(st.Tags, sr.res.Digest)
	if err != nil {
		r.warnStage(sr, err.Error())
		return
	}
	rep, err := r.v.Verify(ctx, refs[0])
	if err != nil {
		r.warnStage(sr, "verification failed: "+err.Error())
		return
	}
	sr.res.Detail = platformsDetail(rep)
	if !rep.Verified() {
		r.warnStage(sr, "no valid inline cache: "+strings.Join(rep.Failures(), "; "))
		return
	}
	sr.res.Verdict = report.Verified
	sr.res.ExtraBytes = r.extraBytes(ctx, refs[0])
	r.log.Infof("%s", sr.res.Line())
	r.recordBeside(ctx, refs[0])
}

// verifyCache reads the registry cache back and checks that it holds
// this build's image layers: a refused export (ignore-error) leaves the
// previous cache under the tag, which verifies but is not this build's.
func (r *buildRun) verifyCache(ctx context.Context, st plan.Step) {
	sr := r.stages.registry
	if sr == nil {
		return
	}
	rep, err := r.v.Verify(ctx, st.Cache)
	if err != nil {
		r.warnStage(sr, "verification failed: "+err.Error())
		return
	}
	sr.res.Digest = rep.Digest
	sr.res.Detail = report.CacheDetail(rep)
	if !rep.RegistryCache {
		r.warnStage(sr, "the tag holds an image, not a registry cache manifest")
		return
	}
	if !rep.Verified() {
		r.warnStage(sr, "not a valid registry cache: "+strings.Join(rep.Failures(), "; "))
		return
	}
	if missing := imageLayersMissing(r.res.Report, rep.Cache); missing != "" {
		r.warnStage(sr, "it is not this build's cache (the export was refused or failed, so the tag still holds an earlier one): "+missing)
		return
	}
	sr.res.Verdict = report.Verified
	sr.res.ExtraBytes = r.extraBytes(ctx, st.Cache)
	r.log.Infof("%s", sr.res.Line())
	if ref, err := r.v.ParseReference(st.Cache); err == nil {
		// The next build imports the cache, not the image: the record
		// goes beside the cache manifest too.
		r.recordBeside(ctx, ref.Context().Digest(rep.Digest).String())
	}
}

// imageLayersMissing names a layer of the verified image that the cache
// does not list, from what both verifications read; "" when it lists
// them all.
func imageLayersMissing(img *verify.Report, cache *verify.CacheManifest) string {
	if img == nil || cache == nil {
		return "the image's layers are not known to compare"
	}
	listed := map[string]bool{}
	for _, l := range cache.Layers {
		listed[l] = true
	}
	for _, p := range img.Platforms {
		for _, l := range p.LayerDigests {
			if !listed[l] {
				return "it lacks the image's layer " + l
			}
		}
	}
	return ""
}

// extraBytes is what the stage cache at ref keeps in the registry beyond
// the image's blobs; 0 when either cannot be read. The image's blobs are
// read once for all the stage caches.
func (r *buildRun) extraBytes(ctx context.Context, ref string) int64 {
	if r.stages.imageBlobs == nil {
		img, err := r.v.Blobs(ctx, r.imageRef())
		if err != nil {
			return 0
		}
		r.stages.imageBlobs = &img
	}
	cache, err := r.v.Blobs(ctx, ref)
	if err != nil {
		return 0
	}
	return cache.Beyond(*r.stages.imageBlobs)
}

// imageRef is the pushed image, by digest where known.
func (r *buildRun) imageRef() string {
	if rep := r.res.Report; rep != nil && rep.Digest != "" {
		if ref, err := r.v.ParseReference(rep.Ref); err == nil {
			return ref.Context().Digest(rep.Digest).String()
		}
		return rep.Ref
	}
	return ""
}

// tagStage points a verified stage image's tag at it (tag-after-verify).
func (r *buildRun) tagStage(ctx context.Context, st plan.Step) {
	sr := r.stages.image(st.Stage)
	if sr == nil || sr.res.Verdict != report.Verified || sr.res.Digest == "" {
		return
	}
	var tags []string
	for _, t := range st.Tags {
		tags = append(tags, t.Raw)
	}
	if _, err := r.v.Tag(ctx, sr.res.Digest, tags); err != nil {
		r.warnStage(sr, "its tag could not be set: "+err.Error())
		return
	}
	sr.res.Tagged = true
}

// platformsDetail sums a verify report in a few words.
func platformsDetail(rep verify.Report) string {
	var parts []string
	for _, p := range rep.Platforms {
		parts = append(parts, fmt.Sprintf("%s: %d records, %d/%d layers", p.Platform, p.Records, p.LayersCovered, p.LayersTotal))
	}
	return strings.Join(parts, ", ")
}
