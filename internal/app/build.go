package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/inlinecache/action/internal/builder"
	"github.com/inlinecache/action/internal/buildlog"
	"github.com/inlinecache/action/internal/command"
	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/plan"
	"github.com/inlinecache/action/internal/report"
	"github.com/inlinecache/action/internal/verify"
)

// buildInputs are the inputs the build command reads.
var buildInputs = []string{
	inputs.Context, inputs.File, inputs.Tags, inputs.Push, inputs.Load,
	inputs.BuildArgs, inputs.Labels, inputs.Platforms, inputs.Target,
	inputs.Builder, inputs.CacheFrom, inputs.CacheTo, inputs.NoCache,
	// build-push-action's other inputs (secrets.go)
	inputs.AddHosts, inputs.Allow, inputs.Annotations, inputs.Attests,
	inputs.BuildContexts, inputs.Call, inputs.CgroupParent, inputs.Network,
	inputs.NoCacheFilters, inputs.Outputs, inputs.SBOM, inputs.Secrets,
	inputs.SecretEnvs, inputs.SecretFiles, inputs.ShmSize, inputs.SSH,
	inputs.Ulimit, inputs.GitHubToken,
	inputs.Pull, inputs.Provenance, inputs.CacheMethodInput,
	inputs.VerifyInput, inputs.VerifyTimeout, inputs.InsecureRegistries, inputs.RegistryCA,
}

// tailLines is how much of the build log is repeated when it fails.
const tailLines = 25

func runBuild(ctx context.Context, args []string, env Env) error {
	sink := report.ForEnv(env.Getenv, env.Stdout)

	fs := flag.NewFlagSet("inline-cache build", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	dotenv := fs.String("dotenv", "", "also write the outputs to this dotenv file")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: inline-cache build [flags] [CONTEXT]")
		fmt.Fprintln(fs.Output(), "  --dotenv FILE\n      also write IMAGEID, DIGEST and CACHE_VERIFIED to FILE (GitLab artifacts:reports:dotenv)")
		inputs.Usage(fs.Output(), specsOf(buildInputs))
	}
	vals, pos, err := readInputs(env, fs, args, buildInputs...)
	maskSecrets(sink, vals, env) // before anything else is printed
	if err != nil {
		return reportInputErr(sink, err)
	}
	sink = report.WithDotenv(sink, *dotenv)
	ciNotes := gitlabDefaults(vals, env)
	s, err := vals.Settings()
	switch {
	case len(pos) > 1:
		err = errors.Join(err, &inputs.Error{Input: inputs.Context, Msg: fmt.Sprintf("one build context expected, got %d: %q", len(pos), pos)})
	case len(pos) == 1:
		s.Context = pos[0]
	}
	err = errors.Join(err, prepareDropIn(&s, env))
	if s.Context != "" {
		err = errors.Join(err, inputs.CheckFiles(s, env.Dir))
	}
	v, caErr := newVerifier(s, env)
	if err = errors.Join(err, caErr); err != nil {
		return reportInputErr(sink, err)
	}

	bx, err := builder.Detect(ctx, env.LookPath, env.Exec, env.Environ, s.Builder)
	if err != nil {
		sink.Error(err.Error())
		return failedErr(errReported)
	}
	if bx.Kind == builder.Legacy {
		return runLegacy(ctx, env, sink, v, s, bx, ciNotes)
	}
	if err := plan.CheckDriver(s, bx.Inspection.PlanDriver()); err != nil {
		return reportInputErr(sink, err)
	}

	tmp, err := os.MkdirTemp("", "inline-cache-")
	if err != nil {
		return failedErr(fmt.Errorf("create temp dir: %w", err))
	}
	defer os.RemoveAll(tmp)

	p, err := plan.New(s, bx.Builder, tmp)
	if err != nil {
		return reportInputErr(sink, err)
	}
	if err := prepareRun(sink, env, p.TempSecrets); err != nil {
		return err
	}

	logPlan(sink, bx, p.CacheMethod, [][]string{slices.Concat([]string{p.Path}, p.Args)}, ciNotes, p.Notes)

	rec, err := runBuildCommand(ctx, env, sink, p.Path, p.Args, nil)
	if err != nil {
		return buildFailed(sink, rec, err)
	}

	meta, err := readMetadata(p.MetadataFile)
	if err != nil {
		sink.Warning(err.Error())
	}
	return finishBuild(ctx, sink, v, s, rec, readTrim(p.IIDFile), meta)
}

// verifyBuild reads what the build pushed (through push or an output that
// pushes) back from the registry; a build only evaluated (call) has nothing
// to verify.
func verifyBuild(ctx context.Context, v *verify.Verifier, s inputs.Settings, meta metadata) report.Result {
	switch {
	case s.Verify == inputs.VerifyOff:
		return report.Result{Verdict: report.Skipped, Reason: "verify is off"}
	case s.Evaluates():
		return report.Result{Verdict: report.Skipped, Reason: fmt.Sprintf("call %q evaluates the build without producing an image", s.Call)}
	case !s.Pushes():
		return report.Result{Verdict: report.Skipped, Reason: skipReason(s)}
	}
	refs, err := pushedRefs(s, meta)
	if err != nil {
		return report.Result{Verdict: report.NotVerified, Reason: err.Error()}
	}
	rep, err := v.Verify(ctx, refs[0])
	if err != nil {
		return report.Result{Verdict: report.NotVerified, Reason: err.Error()}
	}
	res := report.Result{Verdict: report.Verified, Report: &rep}
	var problems []string
	if !rep.Verified() {
		problems = append(problems, rep.Failures()...)
	}
	for _, r := range refs[1:] {
		if err := v.Exists(ctx, r); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		res.Verdict = report.NotVerified
		res.Reason = strings.Join(problems, "; ")
	}
	return res
}

// pushedRefs names the pushed image by digest in every repository it was
// pushed to. Without a digest in the metadata (old buildx) the tags are used.
func pushedRefs(s inputs.Settings, meta metadata) ([]string, error) {
	var repos []name.Repository
	seen := map[string]bool{}
	tags := s.PushedTags()
	for _, t := range tags {
		if r := t.Ref.Context(); !seen[r.String()] {
			seen[r.String()] = true
			repos = append(repos, r)
		}
	}
	if len(repos) == 0 {
		return nil, errors.New("no tag was pushed")
	}
	var refs []string
	for i, r := range repos {
		if meta.Digest != "" {
			refs = append(refs, r.Digest(meta.Digest).String())
			continue
		}
		if i == 0 {
			refs = append(refs, tags[0].Ref.String())
		}
	}
	return refs, nil
}

// metadata is what buildx wrote to --metadata-file.
type metadata struct {
	Raw    json.RawMessage
	Digest string
}

func readMetadata(path string) (metadata, error) {
	raw, err := os.ReadFile(path)
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

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func reportInputErr(sink report.Sink, err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.code == ExitOK {
			return nil
		}
		err = ee.err
	}
	for _, e := range flatten(err) {
		sink.ErrorTitle("Invalid input", e.Error())
	}
	return usageErr(errReported)
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func specsOf(names []string) []inputs.Spec {
	var out []inputs.Spec
	for _, n := range names {
		s, ok := inputs.Lookup(n)
		if !ok {
			panic("unknown input " + n) // a programming error, caught by any test
		}
		out = append(out, s)
	}
	return out
}

// runBuildCommand runs the build in its log group, streaming its output and
// recording it for the step summary and the failure tail.
func runBuildCommand(ctx context.Context, env Env, sink report.Sink, path string, args, extraEnv []string) (*buildlog.Recorder, error) {
	rec := buildlog.NewRecorder(tailLines)
	end := sink.Group("inline-cache: build")
	defer end()
	err := env.Exec(ctx, command.Cmd{
		Path:   path,
		Args:   args,
		Env:    append(slices.Clip(env.Environ), extraEnv...),
		Dir:    env.Dir,
		Stdout: io.MultiWriter(env.Stdout, rec.Writer()),
		Stderr: io.MultiWriter(env.Stderr, rec.Writer()),
	})
	return rec, err
}

// logPlan shows, in the plan group, the builder, the inline cache method,
// the commands in the order they run and the CI defaults applied; the
// planner's notes follow as warnings.
func logPlan(sink report.Sink, bx builder.Info, method inputs.CacheMethod, cmds [][]string, ciNotes, notes []string) {
	end := sink.Group("inline-cache: plan")
	sink.Infof("builder: %s", describeBuilder(bx))
	sink.Infof("inline cache method: %s", method)
	for i, c := range cmds {
		label := "command:"
		if i > 0 {
			label = "then:   "
		}
		sink.Infof("%s %s", label, quoteArgs(c))
	}
	for _, n := range ciNotes {
		sink.Infof("default %s", n)
	}
	end()
	for _, n := range notes {
		sink.Warning(n)
	}
}
