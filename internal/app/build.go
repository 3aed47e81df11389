package app

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/inlinecache/action/internal/builder"
	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/plan"
	"github.com/inlinecache/action/internal/report"
)

// buildInputs are the inputs the build command reads.
var buildInputs = []string{
	inputs.Context, inputs.File, inputs.Tags, inputs.Push, inputs.Load,
	inputs.BuildArgs, inputs.Labels, inputs.Platforms, inputs.Target,
	inputs.Builder, inputs.CacheFrom, inputs.CacheTo, inputs.NoCache,
	// build-push-action's other inputs
	inputs.AddHosts, inputs.Allow, inputs.Annotations, inputs.Attests,
	inputs.BuildContexts, inputs.Call, inputs.CgroupParent, inputs.Network,
	inputs.NoCacheFilters, inputs.Outputs, inputs.SBOM, inputs.Secrets,
	inputs.SecretEnvs, inputs.SecretFiles, inputs.ShmSize, inputs.SSH,
	inputs.Ulimit, inputs.GitHubToken,
	inputs.Pull, inputs.Provenance, inputs.CacheMethodInput,
	inputs.VerifyInput, inputs.VerifyTimeout, inputs.TagAfterVerifyIn, inputs.InsecureRegistries, inputs.RegistryCA,
	inputs.ProgressFile,
	inputs.CacheFromBranches, inputs.BranchTagTemplate, inputs.MinCacheHit, inputs.RequireCacheSource, inputs.StepTimings,
	inputs.CacheStagesInput, inputs.CacheMountsInput, inputs.CacheMountsMaxSizeInput,
}

// tailLines is how much of the build log is repeated when it fails.
const tailLines = 25

// runBuild loads the settings, finds the backend, plans and runs the plan.
func runBuild(ctx context.Context, args []string, env Env) error {
	log := report.ForEnv(env.Getenv, env.Stdout)

	fs := flag.NewFlagSet("inline-cache build", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	dotenv := fs.String("dotenv", "", "also write the outputs to this dotenv file")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: inline-cache build [flags] [CONTEXT]")
		fmt.Fprintln(fs.Output(), "  --dotenv FILE\n      also write IMAGEID, DIGEST and CACHE_VERIFIED to FILE (GitLab artifacts:reports:dotenv)")
		inputs.Usage(fs.Output(), inputs.SpecsOf(buildInputs))
	}
	s, err := loadSettings(env, log, fs, args, buildInputs, true)
	if err != nil {
		return inputErr(log, err)
	}
	outputs := report.WithDotenv(log, *dotenv)

	bx, err := builder.Detect(ctx, builder.Host{
		LookPath: env.LookPath, Run: env.Exec, Env: env.Environ, ReadFile: env.readFile, BinaryVersion: env.BinaryVersion,
	}, s.Builder)
	if err != nil {
		return titled(log, ExitFailed, "", err)
	}
	tmp, err := env.files().MkdirTemp("inline-cache-")
	if err != nil {
		return failedErr(fmt.Errorf("create temp dir: %w", err))
	}
	defer env.files().RemoveAll(tmp)

	var opts []plan.Option
	if s.DockerfileText != nil {
		// for the planner's stage analysis
		opts = append(opts, plan.WithDockerfile(s.DockerfileText))
	}
	p, err := plan.New(s.Settings, backend(bx), tmp, opts...)
	if err != nil {
		return inputErr(log, err)
	}
	r := &buildRun{env: env, log: log, out: &stepOutputs{Outputs: outputs}, s: s, v: newVerifier(s, env), builder: describeBuilder(bx), plan: p, stages: newStageRuns(p)}
	return r.run(ctx)
}

// backend is the detected installation as the planner sees it.
func backend(bx builder.Info) plan.Backend {
	if bx.Kind == builder.Legacy {
		return plan.DockerBackend(bx.Docker.Path)
	}
	in := bx.Inspection
	v, ok := bx.BuildxVersion()
	caps := map[plan.Capability]bool{
		plan.MultiPlatform: in.Has(builder.FeatureMultiPlatform),
		plan.CacheExport:   in.Has(builder.FeatureCacheExport),
		plan.Attestations:  in.Has(builder.FeatureOCIExporter),
		plan.GitQuery:      ok && v.AtLeast(0, 29),
		plan.PushByDigest:  true, // all but the docker driver (dockerDriverBackend)
		plan.RawJSON:       ok && v.AtLeast(0, 12),
	}
	if in.Driver == "docker" {
		return dockerDriverBackend(bx, caps)
	}
	return plan.BuildxBackend(bx.Command, in.Name, in.Driver, caps)
}

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
	return fmt.Sprintf("%s (%s), builder %q, driver %s, nodes: %s%s", bx.Kind, bx.Version, in.Name, in.Driver, strings.Join(nodes, "; "), describeEngine(bx))
}
