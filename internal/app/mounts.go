package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inlinecache/action/internal/plan"
	"github.com/inlinecache/action/internal/progress"
	"github.com/inlinecache/action/internal/report"
	"github.com/inlinecache/action/internal/verify"
)

// mountRun is cache-mounts registry in one build: the snapshot restored
// and what became of each mount. Whatever fails is a warning; the image
// is built, pushed and verified without it.
type mountRun struct {
	mc  *plan.MountCache
	res []report.MountCache // by plan.MountCache.Mounts' index
	// skipped are the mounts the plan left out.
	skipped []report.MountCache
	// from is the snapshot restored (prevRef by digest, fromTag the tag
	// it was found under); nil when none was.
	from    *verify.Snapshot
	prevRef string
	fromTag string
	dirMade bool
	// saveNonce is one per save: the summary build and the push share
	// their collect steps.
	saveNonce string
}

const mountsWarn = "cache-mounts registry: "

func (r *buildRun) mountRun() *mountRun {
	if r.mounts != nil || r.plan.Mounts == nil {
		return r.mounts
	}
	mc := r.plan.Mounts
	mr := &mountRun{mc: mc}
	for _, m := range mc.Mounts {
		mr.res = append(mr.res, report.MountCache{ID: m.ID, Key: m.Key, Target: m.Target, Stage: m.StageName, Status: "cold"})
	}
	r.mounts = mr
	for _, m := range mc.Skipped {
		// After the kept ones, so their indexes stay those of mc.Mounts;
		// the planner's note was the warning.
		mr.skipped = append(mr.skipped, report.MountCache{ID: m.ID, Target: m.Target, Stage: m.StageName, Status: "skipped", Warning: "its key cannot be reproduced: " + m.Skip})
	}
	return mr
}

// mountResults are the mounts for the result, once the run is over.
func (r *buildRun) mountResults() []report.MountCache {
	mr := r.mountRun()
	if mr == nil {
		return nil
	}
	for i := range mr.res {
		if m := &mr.res[i]; m.Restored != nil && r.res.Build != nil {
			used := mountUsed(r.res.Build, m.Target)
			m.Restored.Used = &used
		}
	}
	return append(slices.Clip(mr.res), mr.skipped...)
}

// mountUsed reports whether a RUN step that ran in build b has a cache
// mount at target: one that a restore could have served.
func mountUsed(b *progress.Build, target string) bool {
	for _, st := range b.Steps {
		if st.State == progress.Ran && st.Instruction == "RUN" && strings.Contains(st.Text, "type=cache") && strings.Contains(st.Text, "target="+target) {
			return true
		}
	}
	return false
}

// warnMount marks mount i failed (or skipped) with a warning naming it.
func (r *buildRun) warnMount(i int, status, msg string) {
	mr := r.mounts
	mr.res[i].Status, mr.res[i].Warning = status, msg
	r.log.Warning(fmt.Sprintf("%scache mount %s (stage %s): %s", mountsWarn, mr.res[i].ID, mr.res[i].Stage, msg))
}

// runnable are the mounts whose stage has an image to run a helper step
// in; the others get the warning.
func (r *buildRun) runnable(idx []int) []int {
	mr := r.mounts
	var out []int
	for _, i := range idx {
		if mr.mc.Mounts[i].Tool == "" {
			r.warnMount(i, "failed", "the builder cannot run the helper step: its stage is based on scratch (or a named context), so there is no image with sh, cp, find and tar to run it in; the mount stays as the builder has it")
			continue
		}
		out = append(out, i)
	}
	return out
}

// restoreMounts seeds the cache mounts from the newest snapshot of the
// chain (this branch's, then the base and default branch's) before the
// first build, on the same builder.
func (r *buildRun) restoreMounts(ctx context.Context) {
	mr := r.mountRun()
	if mr == nil {
		return
	}
	all := make([]int, len(mr.mc.Mounts))
	for i := range all {
		all[i] = i
	}
	idx := r.runnable(all)
	snap, ok := r.pickSnapshot(ctx)
	if !ok {
		return
	}
	ref, err := r.v.ParseReference(mr.fromTag)
	if err != nil {
		return
	}
	mr.from, mr.prevRef = &snap, ref.Context().Digest(snap.Digest).String()
	var mounts []plan.Mount
	var restored []int
	for _, i := range idx {
		if slices.Contains(snap.Dirs(), mr.mc.Mounts[i].Dir) {
			mounts, restored = append(mounts, mr.mc.Mounts[i]), append(restored, i)
		}
	}
	if len(mounts) == 0 {
		r.log.Infof("cache-mounts: the snapshot %s holds none of the build's cache mounts", mr.prevRef)
		return
	}
	start := time.Now()
	h := mr.mc.RestoreBuild(mr.prevRef, mounts, nonce())
	if err := r.runHelper(ctx, h); err != nil {
		for _, i := range restored {
			r.warnMount(i, "failed", "the builder cannot run the helper step that restores it from "+mr.prevRef+": "+err.Error()+"; the build runs with the mount as the builder has it")
		}
		return
	}
	secs := progress.Tenth(time.Since(start).Seconds())
	for k, i := range restored {
		n, err := r.readSummary(filepath.Join(h.OutDir, "r"+strconv.Itoa(k)), 2)
		if err != nil {
			r.warnMount(i, "failed", "the restore step wrote no summary: "+err.Error())
			continue
		}
		mr.res[i].Status = "restored"
		mr.res[i].Restored = &report.MountRestore{From: mr.prevRef, Files: n[0], Bytes: n[1], Seconds: secs, SnapshotBytes: snap.Bytes()}
		r.log.Infof("cache-mounts: restored %s (stage %s): %d files, %s in %.1fs from %s", mr.res[i].ID, mr.res[i].Stage, n[0], bytesText(n[1]), secs, mr.prevRef)
	}
}

// pickSnapshot finds the first snapshot of the chain that verifies;
// each that cannot be used is a warning.
func (r *buildRun) pickSnapshot(ctx context.Context) (verify.Snapshot, bool) {
	mr := r.mounts
	for _, src := range mr.mc.Sources {
		s, err := r.v.Snapshot(ctx, src)
		if errors.Is(err, verify.ErrNoSnapshot) {
			r.log.Infof("cache-mounts: no snapshot at %s", src)
			continue
		}
		if err != nil {
			r.log.Warning(fmt.Sprintf("%sthe snapshot %s cannot be restored (%v); the next source is tried, and the build runs cold without one", mountsWarn, src, err))
			continue
		}
		mr.fromTag = src
		return s, true
	}
	r.log.Infof("cache-mounts: no snapshot to restore; the cache mounts start as the builder has them")
	return verify.Snapshot{}, false
}

// runHelper writes a helper build's Dockerfile and runs it on the
// builder, its progress drawn to the log like the build's.
func (r *buildRun) runHelper(ctx context.Context, h plan.Helper) error {
	mr := r.mounts
	if !mr.dirMade {
		if err := r.env.files().Mkdir(mr.mc.Dir()); err != nil {
			return fmt.Errorf("create the helper builds' directory: %w", err)
		}
		mr.dirMade = true
	}
	if err := r.env.files().WriteSecret(h.File, h.Dockerfile); err != nil {
		return fmt.Errorf("write the helper Dockerfile: %w", err)
	}
	b, err := r.runBuild(ctx, h.Step, func() {}, nil)
	if err == nil {
		return nil
	}
	f := b.Failure
	if f == nil || f.Message == "" {
		return err
	}
	// The step's own words, not its whole script.
	m := exitCodeRE.FindString(f.Message)
	if m == "" {
		return fmt.Errorf("%s (%w)", f.Message, err)
	}
	msg := "its step failed with " + m
	if f.Step != nil && len(f.Step.Log) > 0 {
		msg += ": " + strings.Join(lastLines(f.Step.Log, 3), " / ")
	}
	return errors.New(msg)
}

var exitCodeRE = regexp.MustCompile(`exit code: \d+`)

// readSummary reads a helper step's line of n whole numbers.
func (r *buildRun) readSummary(path string, n int) ([]int64, error) {
	b, err := r.env.readFile(path)
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(b))
	if len(f) != n {
		return nil, fmt.Errorf("%q is not %d numbers", strings.TrimSpace(string(b)), n)
	}
	out := make([]int64, n)
	for i, s := range f {
		if out[i], err = strconv.ParseInt(s, 10, 64); err != nil {
			return nil, fmt.Errorf("%q is not %d numbers", strings.TrimSpace(string(b)), n)
		}
	}
	return out, nil
}

// collected is one mount's save summary: all files and bytes, new ones.
type collected struct {
	i                  int
	files, bytes       int64
	newFiles, newBytes int64
}

// saveMounts, after the image verified, pushes what is new in the cache
// mounts since the snapshot restored, as one more layer per changed mount
// on top of it (or afresh, compacted), verifies it and tags it.
func (r *buildRun) saveMounts(ctx context.Context) {
	mr := r.mountRun()
	if mr == nil {
		return
	}
	// Each mount's line, whatever became of it, as the result block has
	// the image's.
	defer func() {
		for _, m := range r.mountResults() {
			r.log.Infof("%s", m.Line())
		}
	}()
	idx := r.savable()
	if len(idx) == 0 {
		return
	}
	start := time.Now()
	got, ok := r.collect(ctx, idx)
	if !ok {
		return
	}
	kept := r.underCap(got)
	if len(kept) == 0 {
		return // each has its warning
	}
	prevDirs := []string{}
	if mr.from != nil {
		prevDirs = mr.from.Dirs()
	}
	compact, changed := mr.shape(kept, prevDirs)
	if !slices.Contains(changed, true) {
		r.unchanged(ctx, kept, start)
		return
	}
	mounts, label := mr.snapshotMounts(kept, prevDirs, changed, compact)
	prev := mr.prevRef
	if compact {
		prev, prevDirs = "", nil
	}
	h := mr.mc.CollectBuild(prev, mounts, prevDirs, mr.nonce(), true, changed, label)
	if err := r.runHelper(ctx, h); err != nil {
		r.failSave(kept, "its snapshot push failed: "+err.Error())
		return
	}
	meta, err := r.readMetadata(h.MetadataFile)
	if err != nil || meta.Digest == "" {
		r.failSave(kept, fmt.Sprintf("the snapshot push named no digest (%v)", err))
		return
	}
	r.finishSave(ctx, kept, changed, compact, meta.Digest, start)
}

// savable are the mounts a save may keep: none unless the image
// verified, and none whose helper step already failed.
func (r *buildRun) savable() []int {
	mr := r.mounts
	var idx []int
	for i := range mr.mc.Mounts {
		if mr.res[i].Status != "failed" {
			idx = append(idx, i)
		}
	}
	if r.res.Verdict == report.Verified {
		return idx
	}
	for _, i := range idx {
		r.warnMount(i, mr.res[i].Status, "not saved: the image did not verify, so nothing of this build is kept")
	}
	return nil
}

// underCap are the mounts within cache-mounts-max-size; each other gets
// the warning.
func (r *buildRun) underCap(got []collected) []collected {
	var kept []collected
	for _, c := range got {
		if c.bytes > r.mounts.mc.MaxSize {
			r.warnMount(c.i, "skipped", fmt.Sprintf("not saved: it holds %s, more than the cap of %s (input %s)", bytesText(c.bytes), bytesText(r.mounts.mc.MaxSize), "cache-mounts-max-size"))
			continue
		}
		kept = append(kept, c)
	}
	return kept
}

// collect runs the collect steps and reads their summaries.
func (r *buildRun) collect(ctx context.Context, idx []int) ([]collected, bool) {
	mr := r.mounts
	var mounts []plan.Mount
	for _, i := range idx {
		mounts = append(mounts, mr.mc.Mounts[i])
	}
	prevDirs := []string{}
	if mr.from != nil {
		prevDirs = mr.from.Dirs()
	}
	h := mr.mc.CollectBuild(mr.prevRef, mounts, prevDirs, mr.nonce(), false, nil, "")
	if err := r.runHelper(ctx, h); err != nil {
		for _, i := range idx {
			r.warnMount(i, "failed", "not saved: the builder cannot run the helper step that collects it: "+err.Error())
		}
		return nil, false
	}
	var out []collected
	for k, i := range idx {
		n, err := r.readSummary(filepath.Join(h.OutDir, "c"+strconv.Itoa(k)), 4)
		if err != nil {
			r.warnMount(i, "failed", "not saved: the collect step wrote no summary: "+err.Error())
			continue
		}
		out = append(out, collected{i: i, files: n[0], bytes: n[1], newFiles: n[2], newBytes: n[3]})
	}
	return out, len(out) > 0
}

// nonce is the save's nonce.
func (mr *mountRun) nonce() string {
	if mr.saveNonce == "" {
		mr.saveNonce = nonce()
	}
	return mr.saveNonce
}

// shape decides whether the save writes the snapshot afresh (compact: it
// would grow past plan.CompactAfter layers, it holds a mount this build
// does not save, or it is mostly stale) and which mounts get a layer.
func (mr *mountRun) shape(kept []collected, prevDirs []string) (bool, []bool) {
	changed := make([]bool, len(kept))
	n, keptDirs := 0, map[string]bool{}
	var total int64
	for k, c := range kept {
		changed[k] = c.newFiles > 0
		if changed[k] {
			n++
		}
		keptDirs[mr.mc.Mounts[c.i].Dir] = true
		total += c.bytes
	}
	if mr.from == nil || n == 0 {
		return false, changed
	}
	compact := len(mr.from.Layers)+n > plan.CompactAfter || mr.from.Bytes() > 2*total
	for _, d := range prevDirs {
		if !keptDirs[d] {
			compact = true
		}
	}
	if compact {
		for k, c := range kept {
			changed[k] = c.files > 0
		}
	}
	return compact, changed
}

// snapshotMounts are the mounts of the snapshot's helper build and its
// label: every mount with a directory in the image.
func (mr *mountRun) snapshotMounts(kept []collected, prevDirs []string, changed []bool, compact bool) ([]plan.Mount, string) {
	var mounts []plan.Mount
	var listed []verify.SnapshotMount
	for k, c := range kept {
		m := mr.mc.Mounts[c.i]
		mounts = append(mounts, m)
		if changed[k] || (!compact && slices.Contains(prevDirs, m.Dir)) {
			listed = append(listed, verify.SnapshotMount{Dir: m.Dir, Key: m.Key, ID: m.ID, Target: m.Target})
		}
	}
	b, _ := json.Marshal(listed) // strings only
	return mounts, verify.MountsLabel + "=" + string(b)
}

// unchanged: nothing new in any mount, so nothing is pushed; a snapshot
// restored from another branch's tag becomes this tag's too.
func (r *buildRun) unchanged(ctx context.Context, kept []collected, start time.Time) {
	mr := r.mounts
	secs := progress.Tenth(time.Since(start).Seconds())
	for _, c := range kept {
		mr.res[c.i].Status = "unchanged"
		mr.res[c.i].Saved = &report.MountSave{Ref: mr.mc.Ref, TotalFiles: c.files, TotalBytes: c.bytes, Seconds: secs}
	}
	if mr.from == nil {
		r.log.Infof("cache-mounts: the cache mounts are empty; no snapshot is pushed")
		return
	}
	r.log.Infof("cache-mounts: nothing new in the cache mounts since %s; no snapshot is pushed", mr.prevRef)
	if mr.fromTag != mr.mc.Ref {
		if _, err := r.v.Tag(ctx, mr.from.Digest, []string{mr.mc.Ref}); err != nil {
			r.failSave(kept, "its tag could not be set: "+err.Error())
		}
	}
}

func (r *buildRun) failSave(kept []collected, msg string) {
	for _, c := range kept {
		r.warnMount(c.i, "failed", "not saved: "+msg+"; the previous snapshot is left as it was")
	}
}

// finishSave verifies the pushed snapshot from the registry (manifest,
// every layer, the mounts it lists) and tags it only then.
func (r *buildRun) finishSave(ctx context.Context, kept []collected, changed []bool, compact bool, digest string, start time.Time) {
	mr := r.mounts
	ref, err := r.v.ParseReference(mr.mc.Ref)
	if err != nil {
		r.failSave(kept, err.Error())
		return
	}
	byDigest := ref.Context().Digest(digest).String()
	snap, err := r.v.Snapshot(ctx, byDigest)
	if err != nil {
		r.failSave(kept, "the pushed snapshot did not verify: "+err.Error())
		return
	}
	for k, c := range kept {
		if changed[k] && !slices.Contains(snap.Dirs(), mr.mc.Mounts[c.i].Dir) {
			r.failSave(kept, "the pushed snapshot does not list the mount "+mr.mc.Mounts[c.i].ID)
			return
		}
	}
	if mr.mc.ByDigest {
		if _, err := r.v.Tag(ctx, digest, []string{mr.mc.Ref}); err != nil {
			r.failSave(kept, "the snapshot "+byDigest+" verified, but its tag could not be set: "+err.Error())
			return
		}
	}
	pushed := len(snap.Layers)
	if mr.from != nil && !compact {
		pushed -= len(mr.from.Layers)
	}
	secs := progress.Tenth(time.Since(start).Seconds())
	// The new layers are on top, one per changed mount, in their order.
	fresh := snap.Layers[max(0, len(snap.Layers)-pushed):]
	for k, c := range kept {
		s := &report.MountSave{Ref: mr.mc.Ref, Digest: digest, TotalFiles: c.files, TotalBytes: c.bytes, Seconds: secs, Compacted: compact}
		mr.res[c.i].Status = "unchanged"
		if changed[k] {
			s.Files, s.Bytes, s.LayersPushed = c.newFiles, c.newBytes, 1
			if len(fresh) > 0 {
				s.PushedBytes, fresh = fresh[0].Size, fresh[1:]
			}
			mr.res[c.i].Status = "saved"
		}
		mr.res[c.i].Saved = s
	}
	r.log.Infof("cache-mounts: snapshot %s verified (%d layers, %d pushed by this build) and tagged %s", byDigest, len(snap.Layers), pushed, mr.mc.Ref)
}

func nonce() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return hex.EncodeToString(b)
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
