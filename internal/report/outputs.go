package report

// Output names.
const (
	OutputImageID         = "imageid"
	OutputDigest          = "digest"
	OutputMetadata        = "metadata"
	OutputCacheVerified   = "cache-verified"
	OutputCacheReport     = "cache-report"
	OutputCachedSteps     = "cached-steps"
	OutputTotalSteps      = "total-steps"
	OutputCacheHit        = "cache-hit"
	OutputUncachedSeconds = "uncached-seconds"
)

// OutputSpec describes one step output, for action.yml and docs/inputs.md.
type OutputSpec struct {
	Name, Description string
}

// OutputSpecs lists every output the build sets.
var OutputSpecs = []OutputSpec{
	{OutputImageID, "Image ID (as build-push-action: the content of buildx --iidfile)."},
	{OutputDigest, "Image digest (containerimage.digest of the build metadata)."},
	{OutputMetadata, "Build result metadata (the JSON buildx writes with --metadata-file)."},
	{OutputCacheVerified, "true when every pushed platform image carries valid inline cache metadata, false when not, skipped when nothing was pushed or verify is off."},
	{OutputCacheReport, "JSON report: verdict, reason, and per platform the cache records, records with layers, layers covered and total and the layer digests; the registry caches verified beside the image, when the build exports one (caches: one verify report each, as `verify --json` prints it); the cache sources imported (imports) and what the check found in each (sources: ref, state, cached and missing platforms, importable); why the steps that ran ran (misses: per stage the first step that ran, its reason, detail, steps and seconds); the cache gates' findings (gates); and under build the Dockerfile steps (cached, ran or failed, with stage, start and seconds), per-stage sums, build wall time and the time spent importing cache, exporting and pushing."},
	{OutputCachedSteps, "How many Dockerfile steps (RUN, COPY, ADD, WORKDIR of this build, per platform; not FROM) came from the cache."},
	{OutputTotalSteps, "How many Dockerfile steps the build had."},
	{OutputCacheHit, "The cached share of the Dockerfile steps, 0 to 100 (rounded down: 100 only when every step was cached)."},
	{OutputUncachedSeconds, "Seconds spent in the Dockerfile steps that ran (were not cached), one decimal."},
}
