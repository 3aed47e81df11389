package report

// Output names.
const (
	OutputImageID       = "imageid"
	OutputDigest        = "digest"
	OutputMetadata      = "metadata"
	OutputCacheVerified = "cache-verified"
	OutputCacheReport   = "cache-report"
)

// OutputSpec describes one step output, for action.yml and the README.
type OutputSpec struct {
	Name, Description string
}

// OutputSpecs lists every output the build sets.
var OutputSpecs = []OutputSpec{
	{OutputImageID, "Image ID (as build-push-action: the content of buildx --iidfile)."},
	{OutputDigest, "Image digest (containerimage.digest of the build metadata)."},
	{OutputMetadata, "Build result metadata (the JSON buildx writes with --metadata-file)."},
	{OutputCacheVerified, "true when every pushed platform image carries valid inline cache metadata, false when not, skipped when nothing was pushed or verify is off."},
	{OutputCacheReport, "JSON report: verdict, reason, and per platform the cache records, records with layers, layers covered and total; plus the build steps seen and how many were CACHED."},
}
