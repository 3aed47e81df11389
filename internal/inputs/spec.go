// Package inputs reads the build settings from GitHub Actions inputs
// (INPUT_*) and command-line flags, and validates them before anything runs.
package inputs

// Kind says how an input's value is read.
type Kind int

const (
	// Text is a single string.
	Text Kind = iota
	// Bool is a YAML 1.2 core schema boolean.
	Bool
	// CommaList items are separated by newlines or commas.
	CommaList
	// LineList items are separated by newlines only.
	LineList
)

// Spec describes one input. The same table declares the CLI flags, checks
// action.yml and renders docs/inputs.md, so the three cannot drift apart.
type Spec struct {
	Name        string
	Kind        Kind
	Default     string
	Description string
	// Aliases are extra flag names (docker build spellings such as "tag", "t").
	Aliases []string
	// ActionDefault replaces Default in action.yml only (an expression the
	// runner evaluates, such as ${{ github.token }}).
	ActionDefault string
	// List reading options beyond Kind, as build-push-action reads the input.
	List ListOptions
}

// Input names.
const (
	Context            = "context"
	File               = "file"
	Tags               = "tags"
	Push               = "push"
	Load               = "load"
	BuildArgs          = "build-args"
	Labels             = "labels"
	Platforms          = "platforms"
	Target             = "target"
	Builder            = "builder"
	CacheFrom          = "cache-from"
	CacheTo            = "cache-to"
	NoCache            = "no-cache"
	Pull               = "pull"
	Provenance         = "provenance"
	CacheMethodInput   = "cache-method"
	VerifyInput        = "verify"
	VerifyTimeout      = "verify-timeout"
	TagAfterVerifyIn   = "tag-after-verify"
	InsecureRegistries = "insecure-registries"
	RegistryCA         = "registry-ca"
	ProgressFile       = "progress-file"
)

// The rest of build-push-action's inputs (see dropin.go).
const (
	AddHosts       = "add-hosts"
	Allow          = "allow"
	Annotations    = "annotations"
	Attests        = "attests"
	BuildContexts  = "build-contexts"
	Call           = "call"
	CgroupParent   = "cgroup-parent"
	Network        = "network"
	NoCacheFilters = "no-cache-filters"
	Outputs        = "outputs"
	SBOM           = "sbom"
	Secrets        = "secrets"
	SecretEnvs     = "secret-envs"
	SecretFiles    = "secret-files"
	ShmSize        = "shm-size"
	SSH            = "ssh"
	Ulimit         = "ulimit"
	GitHubToken    = "github-token"
)

// Specs lists every input, in the order docs/inputs.md and action.yml show them.
var Specs = []Spec{
	{Name: Context, Kind: Text, Default: ".", Aliases: nil,
		Description: "Build context: a local directory or a remote (git or URL) context. Unlike build-push-action the default is the checked-out workspace (.), not the git context, so uncommitted files the workflow generated are part of the build."},
	{Name: File, Kind: Text, Aliases: []string{"f"},
		Description: "Path to the Dockerfile (default: Dockerfile in the context)."},
	{Name: Tags, Kind: CommaList, Aliases: []string{"tag", "t"},
		Description: "Image tags, separated by newlines or commas."},
	{Name: Push, Kind: Bool, Default: "false",
		Description: "Push the image to the registry (shorthand for --output=type=registry)."},
	{Name: Load, Kind: Bool, Default: "false",
		Description: "Load the image into the local docker engine (shorthand for --output=type=docker)."},
	{Name: BuildArgs, Kind: LineList, Aliases: []string{"build-arg"},
		Description: "Build-time variables, one KEY=VALUE per line."},
	{Name: Labels, Kind: LineList, Aliases: []string{"label"},
		Description: "Image labels, one KEY=VALUE per line."},
	{Name: Platforms, Kind: CommaList, Aliases: []string{"platform"},
		Description: "Target platforms, separated by newlines or commas (e.g. linux/amd64,linux/arm64)."},
	{Name: Target, Kind: Text,
		Description: "Dockerfile stage to build."},
	{Name: Builder, Kind: Text,
		Description: "Buildx builder instance to use (default: the current builder)."},
	{Name: CacheFrom, Kind: LineList,
		Description: "Extra cache sources, one per line (buildx --cache-from syntax). A registry source for every pushed tag is always added."},
	{Name: CacheTo, Kind: LineList,
		Description: "Extra cache destinations, one per line (buildx --cache-to syntax). The inline export is managed by cache-method; a bare 'inline' is read as type=inline."},
	{Name: NoCache, Kind: Bool, Default: "false",
		Description: "Do not use cache when building the image."},
	{Name: Pull, Kind: Bool, Default: "false",
		Description: "Always attempt to pull all referenced images."},
	{Name: Provenance, Kind: Text,
		Description: "Provenance attestation (--attest type=provenance): true, false or attributes such as mode=max; in GitHub Actions the run is its builder-id, as with build-push-action. Empty leaves buildx's default."},
	// build-push-action's other inputs, read and passed on as it does.
	{Name: AddHosts, Kind: CommaList, Aliases: []string{"add-host"},
		Description: "Custom host-to-IP mappings (host:ip), separated by newlines or commas."},
	{Name: Allow, Kind: CommaList,
		Description: "Extra privileged entitlements (e.g. network.host,security.insecure), separated by newlines or commas."},
	{Name: Annotations, Kind: LineList, Aliases: []string{"annotation"},
		Description: "Annotations for the image, one [type:]key=value per line."},
	{Name: Attests, Kind: LineList, Aliases: []string{"attest"},
		Description: "Attestation parameters (e.g. type=sbom,generator=image), one per line. provenance and sbom win over an entry of the same type."},
	{Name: BuildContexts, Kind: LineList, Aliases: []string{"build-context"},
		Description: "Additional build contexts, one name=path-or-URL per line."},
	{Name: Call, Kind: Text,
		Description: "Evaluate the build with this method instead of building (e.g. check, outline). Nothing is pushed, so verification is skipped."},
	{Name: CgroupParent, Kind: Text,
		Description: "Parent cgroup for the RUN containers of the build."},
	{Name: Network, Kind: Text,
		Description: "Networking mode for the RUN instructions (default, none or host)."},
	{Name: NoCacheFilters, Kind: CommaList, Aliases: []string{"no-cache-filter"},
		Description: "Stages not to take from cache, separated by newlines or commas."},
	{Name: Outputs, Kind: LineList, Aliases: []string{"output", "o"}, List: ListOptions{NoQuotes: true},
		Description: "Output destinations (buildx --output syntax, e.g. type=local,dest=out), one per line. An image output combined with push is pushed and verified; with tags given, buildx pushes it to the tags instead of its name=."},
	{Name: SBOM, Kind: Text,
		Description: "SBOM attestation (shorthand for attests type=sbom,…): true, false or attributes."},
	{Name: Secrets, Kind: LineList, List: ListOptions{NoTrim: true},
		Description: "Secrets for the build, one id=value per line. Each value goes to the build through a private temporary file (mode 0600, removed at exit), never on a command line, and is masked in GitHub logs."},
	{Name: SecretEnvs, Kind: CommaList,
		Description: "Secrets taken from environment variables, id=VARIABLE, separated by newlines or commas."},
	{Name: SecretFiles, Kind: LineList,
		Description: "Secrets taken from files, one id=path per line."},
	{Name: ShmSize, Kind: Text,
		Description: "Size of /dev/shm for RUN instructions (e.g. 2g)."},
	{Name: SSH, Kind: CommaList,
		Description: "SSH agent sockets or keys for the build (default or id=path), separated by newlines or commas."},
	{Name: Ulimit, Kind: LineList,
		Description: "Ulimit options for RUN instructions (e.g. nofile=1024:1024), one per line."},
	{Name: GitHubToken, Kind: Text, ActionDefault: "${{ github.token }}",
		Description: "GitHub token for a git context of this repository ({{defaultContext}}): passed to the build as the GIT_AUTH_TOKEN.HOST secret (HOST: the GitHub server), unless secrets already hold a GIT_AUTH_TOKEN."},
	{Name: CacheMethodInput, Kind: Text, Default: "auto",
		Description: "How the inline cache is requested: auto, cache-to (--cache-to type=inline) or build-arg (--build-arg BUILDKIT_INLINE_CACHE=1). Exactly one reaches the build."},
	{Name: VerifyInput, Kind: Text, Default: "strict",
		Description: "After pushing, check from the registry that every platform image carries valid inline cache metadata: strict (fail the step), warn (warn only) or off."},
	{Name: VerifyTimeout, Kind: Text, Default: "2m",
		Description: "How long verifying one pushed image may take in all, retries included (a Go duration: 90s, 2m, 1h). Each registry read also has bounds of its own: 10s to connect, 30s for an answer, 30s without a byte of a body; 5xx, 429, resets, timeouts and cut bodies are retried up to 5 times. When it runs out, verification fails naming what it was reading (a warning under verify: warn)."},
	{Name: TagAfterVerifyIn, Kind: Text, Default: "auto",
		Description: "Publish only what is verified: push the image by digest, verify it, then point the tags at the verified digest (true); push the tags with the image and verify afterwards (false); or auto: true when verify is strict and the builder can push by digest (not buildx's docker driver, not docker build without buildx), false otherwise. With it, a tag never points at an image whose cache failed verification."},
	{Name: InsecureRegistries, Kind: CommaList, Aliases: []string{"insecure-registry"},
		Description: "Registries (host[:port], separated by newlines or commas) that verification may reach over plain HTTP, or over TLS without verifying the certificate, as docker and BuildKit treat insecure registries. Loopback registries may use plain HTTP without listing."},
	{Name: RegistryCA, Kind: LineList,
		Description: "CA certificate files (PEM), one per line, that verification trusts for registry TLS in addition to the system roots: for a registry with a private CA. The builder trusts registries through its own configuration (buildkitd.toml ca)."},
	{Name: ProgressFile, Kind: Text,
		Description: "A file to write the build's raw progress stream to, byte for byte (buildx --progress rawjson, or plain where buildx is older than 0.12 or for docker build), e.g. to upload as an artifact. Created or truncated; its directory must exist."},
	{Name: CacheFromBranches, Kind: Bool, Default: "true",
		Description: "When pushing, also import the images of the branches this one comes from, in each pushed repository: on a pull request the base branch's and the default branch's, on a push to another branch or a tag the default branch's (GitHub Actions; GitLab CI: the default branch's in CI_REGISTRY_IMAGE). Their tags follow branch-tag-template."},
	{Name: BranchTagTemplate, Kind: Text, Default: "{{branch}}",
		Description: "The tag of a branch's image, for cache-from-branches: {{branch}} is the branch name, and the result is sanitised as docker/metadata-action's type=ref,event=branch does (each run of characters other than letters, digits, '.', '_' and '-' becomes '-'), so a prefix or suffix you give it there goes here too (e.g. cache-{{branch}})."},
	{Name: MinCacheHit, Kind: Text,
		Description: "Least cached share of build steps, 0 to 100, when a cache source was imported: below it the step fails under verify: strict and warns otherwise."},
	{Name: RequireCacheSource, Kind: Bool, Default: "false",
		Description: "Fail (under verify: strict; warn otherwise) when none of the cache sources could be imported, except a first build where none exists yet."},
	{Name: CacheStagesInput, Kind: Text, Default: "off",
		Description: "Keep builder stages cached on cold builders (the inline cache holds only the image's own layers): off; images (each builder stage is built first as its own target with the inline cache and pushed as <first tag>-stage-<stage> in the same repository, all of them imported by every build); or registry (one type=registry,mode=max cache exported to and imported from <first tag>-buildcache). Stage caches are verified like the image; a stage cache that fails is a warning and the image is still built, pushed and verified. See docs/stage-caches.md for the measured trade-off."},
	{Name: CacheMountsInput, Kind: Text, Default: "off",
		Description: "Keep the contents of the build's cache mounts (RUN --mount=type=cache: Go's build cache, npm's cache) on cold builders: off, or registry (before the build, the builder restores them from the newest verified snapshot image <first tag>-mounts of this branch, then the base and default branch; after a verified build it pushes what is new as one more layer, verifies it and tags it). A snapshot that cannot be used or saved is a warning; the image is still built, pushed and verified. See docs/cache-mounts.md."},
	{Name: CacheMountsMaxSizeInput, Kind: Text, Default: DefaultMountsMaxSize,
		Description: "The most one cache mount may hold to be saved by cache-mounts (2GB, 500MiB): a larger mount is left out of the snapshot with a warning naming it, its size and the cap."},
	{Name: StepTimings, Kind: Bool, Default: "true",
		Description: "Record this build's step times as an OCI artifact referring to the pushed image, and read them from the cache sources to report the time the cache saved (a line in the result, a section in the summary, savings in cache-report). A registry that refuses the artifact gets a warning, never a failed step."},
}

// Lookup returns the spec of the named input.
func Lookup(name string) (Spec, bool) {
	for _, s := range Specs {
		if s.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}
