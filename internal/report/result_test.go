package report

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/cachemeta"
	"github.com/inlinecache/action/internal/progress"
	"github.com/inlinecache/action/internal/verify"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./internal/report -update creates it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// captured reads a real progress stream captured from BuildKit v0.34.2
// (testdata/progress, see internal/e2e/progress_test.go).
func captured(t *testing.T, name string) *progress.Build {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "progress", "buildkit-v0.34.2", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	format := progress.RawJSON
	if filepath.Ext(name) == ".plain" {
		format = progress.Plain
	}
	b, err := progress.Read(f, format)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func results(t *testing.T) map[string]Result {
	failing := verify.Report{
		Ref:    "ghcr.io/acme/app@sha256:1111111111111111111111111111111111111111111111111111111111111111",
		Digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111",
		Platforms: []verify.Platform{
			{Platform: "linux/amd64", Digest: "sha256:aa", Summary: cachemeta.Summary{Records: 8, RecordsWithLayers: 6, LayersCovered: 6, LayersTotal: 6}, Verified: true},
			{Platform: "linux/arm64", Digest: "sha256:bb", Summary: cachemeta.Summary{LayersTotal: 6}, Error: "image config has no moby.buildkit.cache.v0 key: the image was pushed without inline cache"},
		},
	}
	ok := failing
	ok.Platforms = ok.Platforms[:1]
	// A type=registry cache exported beside the image, whole and with a
	// layer blob gone.
	layers := []string{"sha256:c1", "sha256:c2", "sha256:c3"}
	cache := verify.Report{
		Ref: "ghcr.io/acme/app:main-buildcache", Digest: "sha256:cc", RegistryCache: true,
		Cache: &verify.CacheManifest{
			Digest: "sha256:cc", Form: verify.CacheFormImageManifest, Config: "sha256:cf",
			CacheSummary: cachemeta.CacheSummary{Records: 8, RecordsWithLayers: 6, ConfigLayers: 3},
			LayersListed: 3, LayersFound: 3, Layers: layers, Verified: true,
		},
	}
	broken := cache
	bc := *cache.Cache
	bc.LayersFound, bc.Verified = 2, false
	bc.Problems = []string{"layer blob sha256:c2 is listed in the cache manifest but not in the registry (registry ghcr.io, repository acme/app): 404 Not Found"}
	broken.Cache = &bc
	return map[string]Result{
		"cache-verified": {Verdict: Verified, Report: &ok, StageCaches: []StageCache{
			{Mode: "registry", Ref: cache.Ref, Digest: cache.Digest, Steps: 5, Cached: 3, Ran: 2, RunSeconds: 12.3, ExportSeconds: 1.4, ExtraBytes: 3 << 20, Verdict: Verified, Detail: CacheDetail(cache)},
		}},
		"cache-failed": {Verdict: Verified, Report: &ok, StageCaches: []StageCache{
			{Mode: "registry", Ref: broken.Ref, Digest: broken.Digest, Steps: 5, Ran: 5, RunSeconds: 30.1, ExportSeconds: 1.4, Verdict: NotVerified, Detail: CacheDetail(broken), Error: "not a valid registry cache: " + strings.Join(broken.Failures(), "; ")},
		}},
		// verify run on a registry cache itself: its line in the summary.
		"registry-cache-report": {Verdict: NotVerified, Reason: "a layer blob is missing", Report: &broken},
		"stage-images": {Verdict: Verified, Report: &ok, StageCaches: []StageCache{
			{Mode: "images", Stage: "deps", Ref: "ghcr.io/acme/app:main-stage-deps", Digest: "sha256:d1", Steps: 4, Cached: 4, BuildSeconds: 2.2, ExportSeconds: 0.8, PushSeconds: 0.3, ExtraBytes: 48 << 10, Verdict: Verified, Detail: "linux/amd64: 9 records, 4/4 layers", Tagged: true},
			{Mode: "images", Stage: "build", Ref: "ghcr.io/acme/app:main-stage-build", Steps: 3, Ran: 3, RunSeconds: 41.5, BuildSeconds: 44.0, ExportSeconds: 1.1, Verdict: NotVerified, Error: "its build failed: failed to push: 403 Forbidden"},
		}},
		// cache-mounts: one mount restored and saved, one unchanged, one
		// over the cap, one whose helper step failed.
		"cache-mounts": {Verdict: Verified, Report: &ok, CacheMounts: []MountCache{
			{ID: "/root/.cache/go-build", Key: "//root/.cache/go-build", Target: "/root/.cache/go-build", Stage: "build", Status: "saved",
				Restored: &MountRestore{From: "ghcr.io/acme/app@sha256:01", Files: 1200, Bytes: 45 << 20, Seconds: 3.2, SnapshotBytes: 20 << 20},
				Saved:    &MountSave{Ref: "ghcr.io/acme/app:main-mounts", Digest: "sha256:02", Files: 12, Bytes: 3 << 20, TotalFiles: 1212, TotalBytes: 48 << 20, Seconds: 4.1, LayersPushed: 1, PushedBytes: 1 << 20}},
			{ID: "gomod", Key: "/gomod", Target: "/go/pkg/mod", Stage: "build", Status: "unchanged",
				Restored: &MountRestore{From: "ghcr.io/acme/app@sha256:01", Files: 300, Bytes: 9 << 20, Seconds: 3.2, Used: new(bool)},
				Saved:    &MountSave{Ref: "ghcr.io/acme/app:main-mounts", Digest: "sha256:02", TotalFiles: 300, TotalBytes: 9 << 20, Seconds: 4.1}},
			{ID: "/root/.npm", Key: "//root/.npm", Target: "/root/.npm", Stage: "web", Status: "skipped", Warning: "not saved: it holds 2.5 GiB, more than the cap of 1.9 GiB (input cache-mounts-max-size)"},
			{ID: "/c", Key: "//c", Target: "/c", Stage: "tools", Status: "failed", Warning: "the builder cannot run the helper step: its stage is based on scratch"},
		}},
		// A multi-stage rebuild after a change: one step ran.
		"verified":     {Verdict: Verified, Report: &ok, Build: captured(t, "multistage-changed.rawjson")},
		"failed":       {Verdict: NotVerified, Reason: "linux/arm64: image config has no moby.buildkit.cache.v0 key", Report: &failing, Build: captured(t, "multistage.rawjson")},
		"build-failed": {Verdict: NotVerified, Reason: "the build failed: exit status 1", Build: captured(t, "failing.rawjson")},
		"skipped":      {Verdict: Skipped, Reason: "nothing was pushed, so there is no registry image to verify"},
	}
}

func TestResultRendering(t *testing.T) {
	t.Parallel()
	for name, r := range results(t) {
		t.Run(name, func(t *testing.T) {
			golden(t, name+".txt", r.Text())
			golden(t, name+".md", r.Markdown())
			var v map[string]any
			if err := json.Unmarshal([]byte(r.JSON()), &v); err != nil {
				t.Fatalf("cache-report is not JSON: %v", err)
			}
			if v["verified"] != string(r.Verdict) {
				t.Errorf("cache-report verified = %v", v["verified"])
			}
			golden(t, name+".json", r.JSON()+"\n")
		})
	}
}
