package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/inlinecache/action/internal/builder"
	"github.com/inlinecache/action/internal/buildlog"
	"github.com/inlinecache/action/internal/command"
	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/plan"
	"github.com/inlinecache/action/internal/report"
	"github.com/inlinecache/action/internal/verify"
)

// describeBuilder is the one log line that says what the build runs on.
func describeBuilder(bx builder.Info) string {
	if bx.Kind == builder.Legacy {
		return fmt.Sprintf("%s: docker CLI %s, engine %s", bx.Kind, bx.Docker.ClientVersion, bx.Docker.ServerVersion)
	}
	in := bx.Inspection
	var nodes []string
	for _, n := range in.Nodes {
		s := n.Name
		if n.BuildKit != "" {
			s += " BuildKit " + n.BuildKit
			if v, err := builder.ParseVersion(n.BuildKit); err == nil && v.Unknown {
				s += " (a local build: its features are unknown)"
			}
		}
		if len(n.Platforms) > 0 {
			s += " [" + strings.Join(n.Platforms, ",") + "]"
		}
		nodes = append(nodes, s)
	}
	return fmt.Sprintf("%s (%s), builder %q, driver %s, nodes: %s", bx.Kind, bx.Version, in.Name, in.Driver, strings.Join(nodes, "; "))
}

// skipReason says why nothing is verified when nothing was pushed.
func skipReason(s inputs.Settings) string {
	if s.Load {
		return "nothing was pushed (load only: the image went to the local docker engine), so there is no registry image to verify"
	}
	return "nothing was pushed, so there is no registry image to verify"
}

// pushDigestRE finds the manifest digest in "docker push" output
// ("main: digest: sha256:… size: 1234").
var pushDigestRE = regexp.MustCompile(`digest: (sha256:[0-9a-f]{64})`)

// runLegacy builds with "docker build" on the engine's BuildKit and pushes
// with "docker push", for machines without buildx (GitLab's dind recipe).
func runLegacy(ctx context.Context, env Env, sink report.Sink, v *verify.Verifier, s inputs.Settings, bx builder.Info, ciNotes []string) error {
	tmp, err := os.MkdirTemp("", "inline-cache-")
	if err != nil {
		return failedErr(fmt.Errorf("create temp dir: %w", err))
	}
	defer os.RemoveAll(tmp)

	l, err := plan.NewLegacy(s, bx.Docker.Path, tmp)
	if err != nil {
		return reportInputErr(sink, err)
	}
	if err := prepareRun(sink, env, l.TempSecrets); err != nil {
		return err
	}
	cmds := [][]string{slices.Concat(l.Build.Env, []string{l.Build.Path}, l.Build.Args)}
	for _, p := range l.Pushes {
		cmds = append(cmds, slices.Concat([]string{p.Path}, p.Args))
	}
	logPlan(sink, bx, l.CacheMethod, cmds, ciNotes, l.Notes)

	rec, err := runBuildCommand(ctx, env, sink, l.Build.Path, l.Build.Args, l.Build.Env)
	if err != nil {
		return buildFailed(sink, rec, err)
	}

	var digest string
	if len(l.Pushes) > 0 {
		end := sink.Group("inline-cache: push")
		for _, p := range l.Pushes {
			var out bytes.Buffer
			err := env.Exec(ctx, command.Cmd{
				Path: p.Path, Args: p.Args, Env: env.Environ, Dir: env.Dir,
				Stdout: io.MultiWriter(env.Stdout, &out), Stderr: env.Stderr,
			})
			if err != nil {
				end()
				_ = sink.SetOutput(report.OutputCacheVerified, report.NotVerified)
				sink.ErrorTitle("Push failed", fmt.Sprintf("%s failed: %v", quoteArgs(append([]string{p.Path}, p.Args...)), err))
				return failedErr(errReported)
			}
			if m := pushDigestRE.FindStringSubmatch(out.String()); m != nil && digest == "" {
				digest = m[1]
			}
		}
		end()
	}
	return finishBuild(ctx, sink, v, s, rec, readTrim(l.IIDFile), legacyMetadata(s, digest))
}

// legacyMetadata stands in for buildx's metadata file, with the same keys.
func legacyMetadata(s inputs.Settings, digest string) metadata {
	m := map[string]string{}
	if digest != "" {
		m["containerimage.digest"] = digest
	}
	var names []string
	for _, t := range s.Tags {
		names = append(names, t.Raw)
	}
	if len(names) > 0 {
		m["image.name"] = strings.Join(names, ",")
	}
	raw, _ := json.Marshal(m) // a map of strings always marshals
	return metadata{Raw: raw, Digest: digest}
}

// buildFailed reports a build that failed, with the end of its log.
func buildFailed(sink report.Sink, rec *buildlog.Recorder, err error) error {
	_ = sink.SetOutput(report.OutputCacheVerified, report.NotVerified)
	// BuildKit's own error (a failed push, a lost daemon) first: it says
	// what broke; the exit status alone does not.
	why := err.Error()
	if f := rec.Failure(); f != "" {
		why = fmt.Sprintf("%s (%v)", f, err)
	}
	msg := "build failed: " + why
	if tail := rec.Tail(); len(tail) > 0 {
		msg += "\nlast lines of the build log:\n" + strings.Join(tail, "\n")
	}
	sink.ErrorTitle("Build failed", msg)
	_ = sink.Summary(report.Result{Verdict: report.NotVerified, Reason: "the build failed: " + why, Steps: rec.Steps()}.Markdown())
	return failedErr(errReported)
}

// finishBuild sets the outputs, verifies and reports a build that
// succeeded, for buildx and docker build alike.
func finishBuild(ctx context.Context, sink report.Sink, v *verify.Verifier, s inputs.Settings, rec *buildlog.Recorder, imageID string, meta metadata) error {
	var outErrs []error
	setOutput := func(k, val string) {
		if err := sink.SetOutput(k, val); err != nil {
			outErrs = append(outErrs, err)
		}
	}
	setOutput(report.OutputImageID, imageID)
	setOutput(report.OutputDigest, meta.Digest)
	setOutput(report.OutputMetadata, string(meta.Raw))

	end := sink.Group("inline-cache: verify")
	res := verifyBuild(ctx, v, s, meta)
	res.Steps = rec.Steps()
	res.Imports = rec.Imports()
	setOutput(report.OutputCacheVerified, res.Verdict)
	setOutput(report.OutputCacheReport, res.JSON())

	sink.Infof("%s", strings.TrimRight(res.Text(), "\n"))
	if imageID != "" {
		sink.Infof("imageid: %s", imageID)
	}
	if meta.Digest != "" {
		sink.Infof("digest:  %s", meta.Digest)
	}
	end()
	if err := sink.Summary(res.Markdown()); err != nil {
		sink.Warning(err.Error())
	}
	if len(outErrs) > 0 {
		sink.ErrorTitle("Step outputs cannot be written", errors.Join(outErrs...).Error())
		return failedErr(errReported)
	}

	if res.Verdict == report.NotVerified {
		msg := "inline cache not verified: " + res.Reason
		if s.Verify == inputs.VerifyWarn {
			sink.WarningTitle("Inline cache not verified", msg+" (verify: warn, so the step passes)")
			return nil
		}
		sink.ErrorTitle("Inline cache not verified", msg)
		return failedErr(errReported)
	}
	return nil
}
