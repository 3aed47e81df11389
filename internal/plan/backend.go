package plan

import (
	"errors"
	"fmt"
	"strings"

	"github.com/inlinecache/action/internal/buildflags"
	"github.com/inlinecache/action/internal/inputs"
)

// Capability is something a backend may or may not do. Only the inline
// cache works everywhere.
type Capability string

// Capabilities. A buildx builder has the first three as its driver allows;
// docker build without buildx has none.
const (
	MultiPlatform Capability = "multi-platform"
	CacheExport   Capability = "cache export"
	// Attestations stands for an image store that keeps indexes: the
	// docker driver has it only with the containerd image store.
	Attestations Capability = "attestations"
	// Buildx is everything the buildx CLI adds over docker build: the
	// --cache-to flag, cache imports other than images, choosing a builder,
	// outputs, the metadata file, and build-push-action's buildx-only
	// inputs.
	Buildx Capability = "buildx"
	// GitQuery is buildx 0.29 or later, which reads a git context's
	// ?ref=…&checksum=… query form.
	GitQuery Capability = "git query"
	// PushByDigest is an image exporter that pushes without a tag
	// (push-by-digest=true): every buildx driver but docker's.
	PushByDigest Capability = "push by digest"
	// RawJSON is buildx 0.12 or later, which has --progress rawjson: the
	// build's progress as data (see internal/progress).
	RawJSON Capability = "rawjson progress"
)

// Backend is what runs the build: how its commands start and what it can
// do. Flags are spelled the same everywhere; the capabilities decide which
// are given and what is refused.
type Backend struct {
	// Command starts a build: {".../cli-plugins/docker-buildx"} for the
	// buildx plugin run directly ({"/usr/bin/docker", "buildx"} through a
	// docker CLI), {"/usr/local/bin/buildx"}, or {"/usr/bin/docker"} for
	// docker build; Command[0] alone runs docker push.
	Command []string
	// Env is added to the environment of the backend's commands.
	Env []string
	// Where names the backend in a refusal, Remedy says what would lift it.
	Where, Remedy string
	// Remedies are the remedies for capabilities whose lack Remedy does
	// not cure (a docker driver pushes by digest on no image store).
	Remedies map[Capability]string
	Caps     map[Capability]bool
}

// Can reports a capability.
func (b Backend) Can(c Capability) bool { return b.Caps[c] }

// RemedyFor says what would give the backend capability c.
func (b Backend) RemedyFor(c Capability) string {
	if r, ok := b.Remedies[c]; ok {
		return r
	}
	return b.Remedy
}

// BuildxBackend is a buildx builder; caps are its driver's (Buildx is
// added).
func BuildxBackend(command []string, builder, driver string, caps map[Capability]bool) Backend {
	all := map[Capability]bool{Buildx: true}
	for c, ok := range caps {
		all[c] = ok
	}
	return Backend{
		Command: command,
		Where:   fmt.Sprintf("builder %q (driver %s)", builder, driver),
		Remedy:  "use a docker-container or remote builder",
		Caps:    all,
	}
}

// DockerBackend is "docker build" on the engine's own BuildKit, without
// buildx (the recipe GitLab documents for docker-in-docker), with "docker
// push" of each tag.
func DockerBackend(docker string) Backend {
	return Backend{
		Command: []string{docker},
		Env:     []string{"DOCKER_BUILDKIT=1"},
		Where:   "buildx is not installed, and docker build without it",
		Remedy:  "install buildx",
	}
}

// Check refuses, before anything runs, settings the backend cannot carry
// out, naming the input: the build would fail later and more obscurely.
func Check(s inputs.Settings, b Backend) error { return check(derive(s), b) }

// refuser collects what a backend cannot do, each naming its input.
type refuser struct {
	b    Backend
	errs []error
}

func (r *refuser) refuse(input, what, instead string) { r.refuseFor("", input, what, instead) }

// refuseFor is refuse with the remedy for capability c.
func (r *refuser) refuseFor(c Capability, input, what, instead string) {
	r.errs = append(r.errs, &inputs.Error{Input: input, Msg: fmt.Sprintf("%s cannot %s: %s%s", r.b.Where, what, instead, r.b.RemedyFor(c))})
}

func check(s derived, b Backend) error {
	r := &refuser{b: b}
	if !b.Can(Buildx) {
		r.dockerBuild(s)
	}
	if len(s.Platforms) > 1 && !b.Can(MultiPlatform) {
		r.refuse(inputs.Platforms, fmt.Sprintf("build several platforms (%s) in one go", strings.Join(s.Platforms, ",")), "build one platform per step, or ")
	}
	if !b.Can(CacheExport) {
		for _, e := range s.CacheTo {
			if e.Type != "inline" {
				r.refuse(inputs.CacheTo, fmt.Sprintf("export cache type=%s, only the inline cache", e.Type), "drop the entry, or ")
			}
		}
	}
	if !b.Can(Attestations) {
		r.attestations(s.Settings)
	}
	if !b.Can(Buildx) {
		r.buildxOnly(s.Settings)
	}
	switch s.CacheStages {
	case inputs.StagesImages:
		if !b.Can(Buildx) {
			r.refuse(inputs.CacheStagesInput, "build stage cache images (each builder stage as its own target, pushed with a tag of its own)", "set cache-stages to off, or ")
		}
	case inputs.StagesRegistry:
		if !b.Can(CacheExport) {
			r.refuse(inputs.CacheStagesInput, "export a registry cache (type=registry,mode=max)", "use cache-stages images, or ")
		}
	}
	if s.Mounts.Mode == inputs.MountsRegistry && !b.Can(Buildx) {
		r.refuse(inputs.CacheMountsInput, mountsWithoutBuildx, "set cache-mounts to off, or ")
	}
	if s.TagAfterVerify == inputs.TagAfterOn && !b.Can(PushByDigest) {
		r.refuseFor(PushByDigest, inputs.TagAfterVerifyIn, "push an image by digest, so tags would move before verification", "set tag-after-verify to false (or auto) to push the tags with the image, or ")
	}
	return errors.Join(r.errs...)
}

// dockerBuild refuses what docker build without buildx cannot do with
// the inline cache: --cache-to, cache imports other than images, a builder.
func (r *refuser) dockerBuild(s derived) {
	if s.CacheMethod == inputs.MethodCacheTo {
		r.refuse(inputs.CacheMethodInput, "request the inline cache with --cache-to", "use cache-method auto or build-arg, or ")
	}
	sources, _ := cacheFrom(s, imports{})
	for _, e := range sources {
		if !isImage(e) {
			r.refuse(inputs.CacheFrom, fmt.Sprintf("import cache from %s, only from images (type=registry,ref=<image>)", e), "")
		}
	}
	if s.Builder != "" {
		r.refuse(inputs.Builder, "choose a builder", "")
	}
}

// attestations refuses attestations and the exports that need the
// containerd image store.
func (r *refuser) attestations(s inputs.Settings) {
	const what, instead = "store attestations", "leave it off, or "
	if wantsAttestation(s.Provenance) {
		r.refuse(inputs.Provenance, what, instead)
	}
	if wantsAttestation(s.SBOM) {
		r.refuse(inputs.SBOM, what, instead)
	}
	for _, a := range s.Attests {
		if !a.Disabled() {
			r.refuse(inputs.Attests, what, instead)
			break
		}
	}
	for _, o := range s.Outputs {
		if o.Type == "oci" || o.Type == "docker" {
			r.refuse(inputs.Outputs, fmt.Sprintf("export type=%s (without the containerd image store it loads into the engine by itself)", o.Type), "drop the output, or ")
		}
	}
}

// buildxOnly refuses build-push-action's inputs that only buildx takes.
func (r *refuser) buildxOnly(s inputs.Settings) {
	for _, u := range []struct {
		input string
		set   bool
	}{
		{inputs.Allow, len(s.Allow) > 0},
		{inputs.Annotations, len(s.Annotations) > 0},
		{inputs.BuildContexts, len(s.BuildContexts) > 0},
		{inputs.Call, s.Call != ""},
		{inputs.NoCacheFilters, len(s.NoCacheFilters) > 0},
		// Without buildx, secrets come only from files.
		{inputs.SecretEnvs, len(s.SecretEnvs) > 0},
		// The image must land in the engine for docker push.
		{inputs.Outputs, len(s.Outputs) > 0},
	} {
		if u.set {
			r.refuse(u.input, "take this input", "")
		}
	}
}

// isImage reports a cache import docker build can read: an image.
func isImage(e buildflags.CacheEntry) bool {
	_, ok := e.Get("ref")
	return e.Type == "registry" && ok && len(e.Attrs) == 1
}

func wantsAttestation(p string) bool {
	switch strings.ToLower(strings.TrimSpace(p)) {
	case "", "false", "0", "mode=false":
		return false
	}
	return true
}
