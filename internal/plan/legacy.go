package plan

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/inlinecache/action/internal/inputs"
)

// Step is one program run of a plan.
type Step struct {
	Path string
	Args []string
	// Env is added to the environment.
	Env []string
}

// Legacy is a build without buildx: "docker build" on the engine's own
// BuildKit with BUILDKIT_INLINE_CACHE=1 (the recipe GitLab documents for
// docker-in-docker), then "docker push" of each tag.
type Legacy struct {
	Build   Step
	Pushes  []Step
	IIDFile string
	// TempSecrets must be written before the build and removed after it.
	TempSecrets []TempSecret

	CacheMethod inputs.CacheMethod
	Notes       []string
}

// NewLegacy composes the legacy build for the docker CLI at docker. It
// refuses, naming the input, what "docker build" cannot do.
func NewLegacy(s inputs.Settings, docker, tmpDir string) (Legacy, error) {
	var errs []error
	refuse := func(input, format string, a ...any) {
		errs = append(errs, &inputs.Error{Input: input, Msg: "buildx is not installed, and docker build without it " + fmt.Sprintf(format, a...)})
	}
	if s.CacheMethod == inputs.MethodCacheTo {
		refuse(inputs.CacheMethodInput, "has no --cache-to: use cache-method auto or build-arg, or install buildx")
	}
	for _, e := range s.CacheTo {
		if e.Type != "inline" {
			refuse(inputs.CacheTo, "exports no cache type=%s: only the inline cache (drop the entry, or install buildx)", e.Type)
		}
	}
	var froms []string
	for _, e := range cacheFrom(s) {
		ref, ok := e.Get("ref")
		if e.Type != "registry" || !ok || len(e.Attrs) != 1 {
			refuse(inputs.CacheFrom, "imports cache only from images (type=registry,ref=<image>), not %s", e)
			continue
		}
		froms = append(froms, ref)
	}
	if len(s.Platforms) > 1 {
		refuse(inputs.Platforms, "builds one platform, not %s", strings.Join(s.Platforms, ","))
	}
	if wantsAttestation(s.Provenance) {
		refuse(inputs.Provenance, "makes no attestations: set provenance to false or leave it empty")
	}
	if s.Builder != "" {
		refuse(inputs.Builder, "has no builders to choose from")
	}
	// build-push-action inputs docker build 20.10 has no flag for.
	for _, u := range []struct {
		input string
		set   bool
	}{
		{inputs.Allow, len(s.Allow) > 0},
		{inputs.Annotations, len(s.Annotations) > 0},
		{inputs.Attests, len(s.Attests) > 0},
		{inputs.BuildContexts, len(s.BuildContexts) > 0},
		{inputs.Call, s.Call != ""},
		{inputs.NoCacheFilters, len(s.NoCacheFilters) > 0},
		{inputs.SBOM, wantsAttestation(s.SBOM)},
		// Without buildx, secrets come only from files.
		{inputs.SecretEnvs, len(s.SecretEnvs) > 0},
		// The image must land in the engine for docker push.
		{inputs.Outputs, len(s.Outputs) > 0},
	} {
		if u.set {
			refuse(u.input, "does not support it (install buildx)")
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Legacy{}, err
	}

	l := Legacy{
		IIDFile:     filepath.Join(tmpDir, "iid"),
		CacheMethod: inputs.MethodBuildArg,
		Notes:       slices.Clone(s.Notes),
	}
	if s.CacheMethod == inputs.MethodAuto {
		l.Notes = append(l.Notes, "cache-method auto: buildx is not installed, so the inline cache is requested with BUILDKIT_INLINE_CACHE=1 on docker build")
	}
	buildArgs, _, notes := applyMethod(inputs.MethodBuildArg, s.BuildArgs, nil)
	l.Notes = append(l.Notes, notes...)
	for _, e := range s.CacheTo {
		if mode, ok := e.Get("mode"); ok && mode != "min" {
			l.Notes = append(l.Notes, fmt.Sprintf("cache-to: inline cache ignores mode=%s: it only ever holds the layers of the final image (mode=min)", mode))
		}
	}

	args := []string{"build"}
	for _, a := range buildArgs {
		args = append(args, "--build-arg", a)
	}
	for _, r := range froms {
		args = append(args, "--cache-from", r)
	}
	if s.File != "" {
		args = append(args, "--file", s.File)
	}
	args = append(args, "--iidfile", l.IIDFile)
	for _, lb := range s.Labels {
		args = append(args, "--label", lb)
	}
	if len(s.Platforms) == 1 {
		args = append(args, "--platform", s.Platforms[0])
	}
	for _, t := range s.Tags {
		args = append(args, "--tag", t.Raw)
	}
	if s.Target != "" {
		args = append(args, "--target", s.Target)
	}
	extra, temps := legacyDropIn(s, tmpDir)
	args = append(args, extra...)
	l.TempSecrets = temps
	if s.NoCache {
		args = append(args, "--no-cache")
	}
	if s.Pull {
		args = append(args, "--pull")
	}
	args = append(args, "--progress", "plain", s.Context)
	l.Build = Step{Path: docker, Args: args, Env: []string{"DOCKER_BUILDKIT=1"}}
	if s.Push {
		for _, t := range s.Tags {
			l.Pushes = append(l.Pushes, Step{Path: docker, Args: []string{"push", t.Raw}})
		}
	}
	return l, nil
}

// legacyDropIn is the part of build-push-action's inputs that docker build
// 20.10 takes with BuildKit: the same flags as buildx.
func legacyDropIn(s inputs.Settings, tmpDir string) ([]string, []TempSecret) {
	var args []string
	for _, h := range s.AddHosts {
		args = append(args, "--add-host", h)
	}
	if s.CgroupParent != "" {
		args = append(args, "--cgroup-parent", s.CgroupParent)
	}
	var temps []TempSecret
	for _, sec := range s.Secrets {
		p := filepath.Join(tmpDir, fmt.Sprintf("secret-%d", len(temps)))
		temps = append(temps, TempSecret{ID: sec.ID, Path: p, Value: sec.Value})
		args = append(args, "--secret", csvJoin("id="+sec.ID, "src="+p))
	}
	for _, f := range s.SecretFiles {
		args = append(args, "--secret", csvJoin("id="+f.ID, "src="+f.Path))
	}
	if s.ShmSize != "" {
		args = append(args, "--shm-size", s.ShmSize)
	}
	for _, k := range s.SSH {
		args = append(args, "--ssh", k)
	}
	for _, u := range s.Ulimits {
		args = append(args, "--ulimit", u)
	}
	if s.Network != "" {
		args = append(args, "--network", s.Network)
	}
	return args, temps
}
