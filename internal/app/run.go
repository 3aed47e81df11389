package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/inlinecache/action/internal/command"
	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/plan"
	"github.com/inlinecache/action/internal/progress"
	"github.com/inlinecache/action/internal/report"
	"github.com/inlinecache/action/internal/timings"
	"github.com/inlinecache/action/internal/verify"
)

// buildRun is one build: what every step reads (the settings, the plan,
// the verifier, the log and outputs) and the result they add to. What a
// step finds that later steps need stays with what it is about: the
// image (image), a stage cache (stages), the cache sources (check).
type buildRun struct {
	env     Env
	log     report.Log   // the job's log
	out     *stepOutputs // step outputs and summary, plus a dotenv file
	s       settings
	v       *verify.Verifier
	builder string // what the build runs on, for the plan group
	plan    plan.Plan
	res     report.Result // what the steps found, as reported

	image  imageRun
	stages stageRuns
	check  *sourceCheck // the cache source check; nil without sources
	mounts *mountRun    // cache-mounts registry
}

// imageRun is what the image's steps found that later steps read.
type imageRun struct {
	progressFile io.WriteCloser // the progress-file input's file, or nil
	pushDigest   string         // from docker push, when there is no metadata file
	meta         metadata       // read by the verify step
	refs         []string       // the image in each repository it went to, as verified
	// record is this build's step timings, once the image is verified.
	record   *timings.Record
	tagErr   error     // a tag that could not be set after verification
	pushedAt time.Time // when the build's push ended, for the untagged window
}

// stepOutputs are the step outputs and summary, plus a dotenv file. An
// output that cannot be written is kept, and fails the step once the
// report is out.
type stepOutputs struct {
	report.Outputs
	errs []error
}

func (o *stepOutputs) set(k, v string) {
	if err := o.SetOutput(k, v); err != nil {
		o.errs = append(o.errs, err)
	}
}

// run prepares the run, shows the plan and runs its steps in order, each
// kind of step in its own log group. The cache source check starts with
// the build and is shown in the plan group once it answers.
func (r *buildRun) run(ctx context.Context) error {
	if err := r.prepare(); err != nil {
		return err
	}
	defer r.warm(ctx)()
	r.startSourceCheck(ctx)
	g := &groups{log: r.log}
	defer g.close()
	g.open("plan")
	r.logPlan()
	// The plan group ends once, when the first step begins; the planner's
	// notes and the sources' warnings follow it.
	endPlan := sync.OnceFunc(func() {
		warnings := r.showSources()
		g.close()
		for _, n := range append(slices.Clip(r.plan.Notes), warnings...) {
			r.log.Warning(n)
		}
	})
	for _, st := range r.plan.Steps {
		title := string(st.Kind)
		if st.Kind == plan.Build && st.Stage != "" {
			title += " stage " + st.Stage
		}
		begin := func() { endPlan(); g.open(title) }
		if st.Kind != plan.Build {
			// A build ends the plan group itself, once it has started.
			begin()
		}
		if err := r.step(ctx, st, begin); err != nil {
			return err
		}
	}
	endPlan()
	g.close()
	return r.finish()
}

// step runs one step of the plan; started is for a build to call once it
// is on its way. Only a step the run cannot go on after returns an error:
// a stage cache that fails is a warning, a verdict is for finish.
func (r *buildRun) step(ctx context.Context, st plan.Step, started func()) error {
	switch {
	case st.Kind == plan.Build && st.Stage != "":
		r.buildStage(ctx, st, started)
	case st.Kind == plan.Build:
		return r.build(ctx, st, started)
	case st.Kind == plan.Push:
		return r.push(ctx, st)
	case st.Kind == plan.Verify && st.Stage != "":
		r.verifyStage(ctx, st)
	case st.Kind == plan.Verify && st.Cache != "":
		r.verifyCache(ctx, st)
	case st.Kind == plan.Verify:
		r.verify(ctx, st)
	case st.Kind == plan.Tag && st.Stage != "":
		r.tagStage(ctx, st)
	case st.Kind == plan.Tag:
		r.tag(ctx, st)
	case st.Kind == plan.RestoreMounts:
		r.restoreMounts(ctx)
	case st.Kind == plan.SaveMounts:
		r.saveMounts(ctx)
	default:
		return fmt.Errorf("plan step %q has no runner", st.Kind)
	}
	return nil
}

// groups keeps one log group open at a time.
type groups struct {
	log   report.Log
	title string
	end   func()
}

// open starts the group "inline-cache: <title>", ending the one before;
// it does nothing when that group is open already.
func (g *groups) open(title string) {
	if g.end != nil && g.title == title {
		return
	}
	g.close()
	g.title, g.end = title, g.log.Group("inline-cache: "+title)
}

func (g *groups) close() {
	if g.end != nil {
		g.end()
		g.end = nil
	}
}

// prepare does what must happen between planning and building: check the
// step's output files can be written (before minutes of building), log in
// to the GitLab registry, and write the secret files.
func (r *buildRun) prepare() error {
	if err := r.out.Preflight(); err != nil {
		return titled(r.log, ExitFailed, "Step outputs cannot be written", err)
	}
	if err := gitlabLogin(r.log, r.env, r.s.Job.GitLab); err != nil {
		return titled(r.log, ExitFailed, "Registry login failed", err)
	}
	if p := r.s.ProgressFile; p != "" {
		if !filepath.IsAbs(p) {
			p = filepath.Join(r.env.Dir, p)
		}
		f, err := r.env.files().Create(p)
		if err != nil {
			return inputErr(r.log, &inputs.Error{Input: inputs.ProgressFile, Msg: fmt.Sprintf("cannot create %q: %v", r.s.ProgressFile, err)})
		}
		r.image.progressFile = f
	}
	return writeTempSecrets(r.env.files(), r.plan.TempSecrets)
}

// warm pings the registries verification will read, and looks up their
// credentials (after prepare's registry login), beside the build rather
// than after it. It returns what stops it and waits for it.
func (r *buildRun) warm(ctx context.Context) (stop func()) {
	var refs []string
	seen := map[string]bool{}
	for _, st := range r.plan.Steps {
		if st.Kind != plan.Verify || st.Skip != "" {
			continue
		}
		for _, t := range st.Tags {
			if reg := t.Ref.Context().RegistryStr(); !seen[reg] {
				seen[reg] = true
				refs = append(refs, t.Ref.String())
			}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.v.Warm(ctx, ref)
		}()
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// logPlan shows, in the plan group, the builder, the inline cache method,
// the commands in the order they run and the CI defaults applied; the
// planner's notes follow the group as warnings (run).
func (r *buildRun) logPlan() {
	r.log.Infof("builder: %s", r.builder)
	r.log.Infof("inline cache method: %s", r.plan.CacheMethod)
	for i, c := range r.plan.Commands() {
		label := "command:"
		if i > 0 {
			label = "then:   "
		}
		r.log.Infof("%s %s", label, quoteArgs(c))
	}
	for _, n := range r.s.Defaults {
		r.log.Infof("default %s", n)
	}
	for _, n := range r.plan.Info {
		r.log.Infof("%s", n)
	}
}

// build runs the build, reading its progress stream into the step model
// and drawing it to the log as buildx's plain output would; the build's
// step counts become outputs, its failure and build check warnings
// annotations on their Dockerfile lines. started runs once the build
// process is on its way; what the build writes is held until it returns.
func (r *buildRun) build(ctx context.Context, st plan.Step, started func()) error {
	b, err := r.runBuild(ctx, st, started, r.image.progressFile)
	if f := r.image.progressFile; f != nil {
		if cerr := f.Close(); cerr != nil {
			r.log.Warning(fmt.Sprintf("input %q: %v", inputs.ProgressFile, cerr))
		}
	}
	r.takeStageRuns(b)
	r.res.Build = b
	r.out.set(report.OutputCachedSteps, strconv.Itoa(b.CachedSteps()))
	r.out.set(report.OutputTotalSteps, strconv.Itoa(b.TotalSteps()))
	r.out.set(report.OutputCacheHit, strconv.Itoa(b.CacheHit()))
	r.out.set(report.OutputUncachedSeconds, strconv.FormatFloat(b.UncachedSeconds(), 'f', 1, 64))
	r.annotate(b)
	if err == nil {
		return nil
	}
	_ = r.out.SetOutput(report.OutputCacheVerified, string(report.NotVerified))
	// BuildKit's own error (a failed push, a lost daemon) first: it says
	// what broke; the exit status alone does not.
	why := err.Error()
	if f := b.Failure; f != nil && f.Message != "" {
		why = fmt.Sprintf("%s (%v)", explainDaemonLoss(f.Message), err)
	}
	msg := "build failed: " + why
	if f := b.Failure; f != nil && f.Step != nil {
		msg += fmt.Sprintf("\nfailed step: %s", f.Step.Name)
	}
	if tail := lastLines(b.Text, tailLines); len(tail) > 0 {
		msg += "\nlast lines of the build log:\n" + strings.Join(tail, "\n")
	}
	_ = r.out.Summary(report.Result{Verdict: report.NotVerified, Reason: "the build failed: " + why, Build: b}.Markdown())
	return titled(r.log, ExitFailed, "Build failed", errors.New(msg))
}

// runBuild runs one build command, reading its progress stream into the
// step model and drawing it to the log as buildx's plain output would;
// tee, if not nil, gets the stream byte for byte. started runs once the
// process is on its way; what the build writes is held until it returns.
func (r *buildRun) runBuild(ctx context.Context, st plan.Step, started func(), tee io.Writer) (*progress.Build, error) {
	format := progress.Plain
	if st.Progress == "rawjson" {
		format = progress.RawJSON
	}
	stdout, stderr := holdWriter(r.env.Stdout), holdWriter(r.env.Stderr)
	opts := []progress.Option{progress.WithRender(stderr), progress.WithLogTail(tailLines)}
	if tee != nil {
		opts = append(opts, progress.WithTee(tee))
	}
	rec := progress.New(format, opts...)
	errc := make(chan error, 1)
	go func() { errc <- r.exec(ctx, st, stdout, rec) }()
	started()
	stdout.release()
	stderr.release()
	err := <-errc
	if cerr := rec.Close(); cerr != nil && tee != nil {
		r.log.Warning(fmt.Sprintf("input %q: the progress stream was not copied whole: %v", inputs.ProgressFile, cerr))
	}
	return rec.Build(), err
}

func lastLines(l []string, n int) []string { return l[max(0, len(l)-n):] }

// explainDaemonLoss adds what a gRPC "Unavailable" or an EOF from the
// server means for a build: the BuildKit daemon went away.
func explainDaemonLoss(msg string) string {
	// buildx words it as a gRPC status or, from the solve, "Unavailable: …".
	if strings.Contains(msg, "code = Unavailable") || strings.Contains(msg, "Unavailable: ") || strings.Contains(msg, "error reading from server: EOF") {
		return msg + " (the connection to the BuildKit daemon was lost: it stopped or crashed during the build)"
	}
	return msg
}

// annotate puts the failed step and BuildKit's build check warnings on
// their Dockerfile lines, as build-push-action shows them.
func (r *buildRun) annotate(b *progress.Build) {
	for _, w := range b.Warnings {
		msg := w.Message
		if len(w.Detail) > 0 {
			msg += "\n" + strings.Join(w.Detail, "\n")
		}
		if w.URL != "" {
			msg += "\n" + w.URL
		}
		r.log.Annotate(report.Annotation{Title: "Build check", Msg: msg, File: r.dockerfile(w.File), Line: w.Line, EndLine: w.EndLine})
	}
	f := b.Failure
	if f != nil && f.Line == 0 {
		// An old BuildKit reports no source location: find the step in
		// the Dockerfile.
		if p, _ := r.s.Dockerfile(); p != "" && r.s.DockerfileText != nil {
			f.Locate(filepath.Base(p), r.s.DockerfileText)
		}
	}
	if f == nil || f.Line == 0 {
		return
	}
	title, msg := "Build failed", f.Message
	if f.Step != nil {
		title = "Build step failed: " + f.Step.Name
		if f.Step.Error != "" {
			msg = f.Step.Error // what the step did; f.Message is buildx's summary
		}
		if len(f.Step.Log) > 0 {
			msg += "\nlast lines of the step:\n" + strings.Join(lastLines(f.Step.Log, 10), "\n")
		}
	}
	r.log.Annotate(report.Annotation{Error: true, Title: title, Msg: msg, File: r.dockerfile(f.File), Line: f.Line, EndLine: f.EndLine})
}

// dockerfile names the Dockerfile BuildKit calls name (its base name) as
// the repository does: the file input, or the context's Dockerfile,
// relative to the workspace where it is inside it.
func (r *buildRun) dockerfile(name string) string {
	if name == "" {
		return ""
	}
	p, _ := r.s.Dockerfile()
	if p == "" {
		return name
	}
	if filepath.Base(p) != name {
		return name // another file: a named context's, or a frontend's
	}
	if ws := r.env.Getenv("GITHUB_WORKSPACE"); ws != "" && filepath.IsAbs(p) {
		if rel, err := filepath.Rel(ws, p); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return filepath.Clean(p)
}

// pushDigestRE finds the manifest digest in "docker push" output
// ("main: digest: sha256:… size: 1234").
var pushDigestRE = regexp.MustCompile(`digest: (sha256:[0-9a-f]{64})`)

// push runs docker push of one tag and keeps the first digest it prints.
func (r *buildRun) push(ctx context.Context, st plan.Step) error {
	var out bytes.Buffer
	if err := r.exec(ctx, st, io.MultiWriter(r.env.Stdout, &out), r.env.Stderr); err != nil {
		_ = r.out.SetOutput(report.OutputCacheVerified, string(report.NotVerified))
		return titled(r.log, ExitFailed, "Push failed", fmt.Errorf("%s failed: %w", quoteArgs(append([]string{st.Path}, st.Args...)), err))
	}
	if m := pushDigestRE.FindStringSubmatch(out.String()); m != nil && r.image.pushDigest == "" {
		r.image.pushDigest = m[1]
	}
	return nil
}

func (r *buildRun) exec(ctx context.Context, st plan.Step, stdout, stderr io.Writer) error {
	return r.env.Exec(ctx, command.Cmd{
		Path:   st.Path,
		Args:   st.Args,
		Env:    append(slices.Clip(r.env.Environ), st.Env...),
		Dir:    r.env.Dir,
		Stdout: stdout,
		Stderr: stderr,
	})
}

// verify sets the outputs, verifies what was pushed and shows the result.
func (r *buildRun) verify(ctx context.Context, st plan.Step) {
	r.image.pushedAt = time.Now()
	meta, metaErr := r.metadata()
	if metaErr != nil {
		r.log.Warning(metaErr.Error())
	}
	r.image.meta = meta
	imageID := r.readTrim(r.plan.IIDFile)
	r.out.set(report.OutputImageID, imageID)
	r.out.set(report.OutputDigest, meta.Digest)
	r.out.set(report.OutputMetadata, string(meta.Raw))

	r.collectSources()
	r.explain()
	res := r.verifyPushed(ctx, st, meta)
	res.Build, res.Sources, res.Misses = r.res.Build, r.res.Sources, r.res.Misses
	r.res = res
	r.stepTimings(ctx)
	r.out.set(report.OutputCacheVerified, string(r.res.Verdict))

	r.log.Infof("%s", strings.TrimRight(r.res.Text(), "\n"))
	if imageID != "" {
		r.log.Infof("imageid: %s", imageID)
	}
	if meta.Digest != "" {
		r.log.Infof("digest:  %s", meta.Digest)
	}
}

// tag points the tags at the verified digest (tag-after-verify). After a
// verification that did not pass it leaves every tag where it was: the
// registry keeps serving the last verified image, and later builds keep
// importing its cache.
func (r *buildRun) tag(ctx context.Context, st plan.Step) {
	tags := make([]string, len(st.Tags))
	for i, t := range st.Tags {
		tags[i] = t.Raw
	}
	digest := r.image.meta.Digest
	tg := &report.Tagging{Digest: digest}
	r.res.Tags = tg
	switch {
	case r.res.Verdict != report.Verified:
		tg.Left, tg.Reason = tags, "verification did not pass"
	case digest == "":
		tg.Left, tg.Reason = tags, "the build reported no digest to tag"
		r.image.tagErr = errors.New("the build pushed by digest but its metadata names no digest, so no tag was set")
	default:
		tg.Set, r.image.tagErr = r.v.Tag(ctx, digest, tags)
		tg.Untagged, tg.CallBound = time.Since(r.image.pushedAt), r.s.VerifyTimeout
		if len(tg.Set) < len(tags) {
			tg.Left, tg.Reason = tags[len(tg.Set):], "tagging failed"
		}
	}
	r.log.Infof("%s", strings.TrimRight(tg.Text(), "\n"))
}

// finish writes the report and the step summary and turns the verdict into
// the exit status.
func (r *buildRun) finish() error {
	gateErr := r.gate()
	for _, sr := range r.stages.all() {
		if sr.res.Verdict == report.NotVerified && sr.res.Error == "" {
			// No verify step: verify is off, or nothing was pushed.
			sr.res.Verdict = report.Skipped
		}
		r.res.StageCaches = append(r.res.StageCaches, sr.res)
	}
	r.res.CacheMounts = r.mountResults()
	r.out.set(report.OutputCacheReport, r.res.JSON())
	if err := r.out.Summary(r.res.Markdown()); err != nil {
		r.log.Warning(err.Error())
	}
	if len(r.out.errs) > 0 {
		return titled(r.log, ExitFailed, "Step outputs cannot be written", errors.Join(r.out.errs...))
	}
	if err := r.image.tagErr; err != nil {
		return titled(r.log, ExitFailed, "Tagging failed", fmt.Errorf("the image %s was verified, but: %w", r.image.meta.Digest, err))
	}
	if r.res.Verdict == report.NotVerified {
		msg := "inline cache not verified: " + r.res.Reason
		if r.s.Verify == inputs.VerifyWarn {
			r.log.WarningTitle("Inline cache not verified", msg+" (verify: warn, so the step passes)")
			return nil
		}
		return titled(r.log, ExitFailed, "Inline cache not verified", errors.New(msg))
	}
	return gateErr
}

// verifyPushed reads the pushed image back from every repository it went
// to: the first in full, the others for presence.
func (r *buildRun) verifyPushed(ctx context.Context, st plan.Step, meta metadata) report.Result {
	if st.Skip != "" {
		return report.Result{Verdict: report.Skipped, Reason: st.Skip}
	}
	if r.plan.ByDigest && meta.Digest == "" {
		return report.Result{Verdict: report.NotVerified, Reason: "the image was pushed by digest, but the build's metadata names no digest to read back"}
	}
	refs, err := pushedRefs(st.Tags, meta.Digest)
	if err != nil {
		return report.Result{Verdict: report.NotVerified, Reason: err.Error()}
	}
	r.image.refs = refs
	rep, err := r.v.Verify(ctx, refs[0])
	if err != nil && r.plan.ByDigest && verify.IsNotFound(err) {
		return report.Result{Verdict: report.NotVerified, Reason: err.Error() + "; " + goneUntagged}
	}
	if err != nil {
		return report.Result{Verdict: report.NotVerified, Reason: err.Error()}
	}
	res := report.Result{Verdict: report.Verified, Report: &rep}
	var problems []string
	if !rep.Verified() {
		problems = append(problems, rep.Failures()...)
	}
	for _, ref := range refs[1:] {
		if err := r.v.Exists(ctx, ref); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		res.Verdict = report.NotVerified
		res.Reason = strings.Join(problems, "; ")
	}
	return res
}

// goneUntagged explains an image pushed by digest that its registry no
// longer has when it is read back.
const goneUntagged = "the registry no longer has the image this build pushed by digest: registries that expire or clean up untagged " +
	"manifests (Quay after about an hour, lifecycle policies on ECR, GAR and Harbor) may remove it before it is tagged; " +
	"no tag was set to it"

// pushedRefs names the pushed image by digest in every repository it was
// pushed to. Without a digest (old buildx) the first tag is used.
func pushedRefs(tags []inputs.Tag, digest string) ([]string, error) {
	var repos []name.Repository
	seen := map[string]bool{}
	for _, t := range tags {
		if repo := t.Ref.Context(); !seen[repo.String()] {
			seen[repo.String()] = true
			repos = append(repos, repo)
		}
	}
	if len(repos) == 0 {
		return nil, errors.New("no tag was pushed")
	}
	if digest == "" {
		return []string{tags[0].Ref.String()}, nil
	}
	refs := make([]string, len(repos))
	for i, repo := range repos {
		refs[i] = repo.Digest(digest).String()
	}
	return refs, nil
}

// metadata is what the build reports about itself: buildx's metadata file,
// or for docker build the same keys from what its push printed.
type metadata struct {
	Raw    json.RawMessage
	Digest string
}

func (r *buildRun) metadata() (metadata, error) {
	if r.plan.MetadataFile == "" {
		m := map[string]string{}
		if d := r.image.pushDigest; d != "" {
			m["containerimage.digest"] = d
		}
		var names []string
		for _, t := range r.s.Tags {
			names = append(names, t.Raw)
		}
		if len(names) > 0 {
			m["image.name"] = strings.Join(names, ",")
		}
		raw, _ := json.Marshal(m) // a map of strings always marshals
		return metadata{Raw: raw, Digest: r.image.pushDigest}, nil
	}
	return r.readMetadata(r.plan.MetadataFile)
}

// readMetadata reads a buildx metadata file.
func (r *buildRun) readMetadata(path string) (metadata, error) {
	raw, err := r.env.disk().ReadFile(path)
	if err != nil {
		return metadata{}, fmt.Errorf("buildx wrote no metadata file: %w", err)
	}
	var m struct {
		Digest string `json:"containerimage.digest"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return metadata{Raw: raw}, fmt.Errorf("cannot read the buildx metadata file: %w", err)
	}
	return metadata{Raw: raw, Digest: m.Digest}, nil
}

func (r *buildRun) readTrim(path string) string {
	b, err := r.env.disk().ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// quoteArgs shows a command line the way a shell user would type it. It is
// for the log only: nothing is ever run through a shell.
func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`|&;<>()*?[]{}#~!") {
			out[i] = strconv.Quote(a)
		} else {
			out[i] = a
		}
	}
	return strings.Join(out, " ")
}
