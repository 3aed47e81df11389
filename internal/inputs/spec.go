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
// action.yml and renders the README, so the three cannot drift apart.
type Spec struct {
	Name        string
	Kind        Kind
	Default     string
	Description string
	// Aliases are extra flag names (docker build spellings such as "tag", "t").
	Aliases []string
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
	InsecureRegistries = "insecure-registries"
	RegistryCA         = "registry-ca"
)

// Specs lists every input, in the order the README and action.yml show them.
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
		Description: "Provenance attestation (buildx --provenance: true, false or attributes such as mode=max). Empty leaves buildx's default."},
	{Name: CacheMethodInput, Kind: Text, Default: "auto",
		Description: "How the inline cache is requested: auto, cache-to (--cache-to type=inline) or build-arg (--build-arg BUILDKIT_INLINE_CACHE=1). Exactly one reaches the build."},
	{Name: VerifyInput, Kind: Text, Default: "strict",
		Description: "After pushing, check from the registry that every platform image carries valid inline cache metadata: strict (fail the step), warn (warn only) or off."},
	{Name: InsecureRegistries, Kind: CommaList, Aliases: []string{"insecure-registry"},
		Description: "Registries (host[:port], separated by newlines or commas) that verification may reach over plain HTTP, or over TLS without verifying the certificate, as docker and BuildKit treat insecure registries. Loopback registries may use plain HTTP without listing."},
	{Name: RegistryCA, Kind: LineList,
		Description: "CA certificate files (PEM), one per line, that verification trusts for registry TLS in addition to the system roots: for a registry with a private CA. The builder trusts registries through its own configuration (buildkitd.toml ca)."},
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
