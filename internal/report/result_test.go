package report

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/inlinecache/action/internal/buildlog"
	"github.com/inlinecache/action/internal/cachemeta"
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

func results() map[string]Result {
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
	steps := []buildlog.Step{{Name: "[1/3] COPY a /a", Cached: true, Done: true}, {Name: "[2/3] RUN make", Cached: true}, {Name: "[3/3] RUN make | test", Done: true}}
	return map[string]Result{
		"verified": {Verdict: Verified, Report: &ok, Steps: steps, Imports: []buildlog.Import{{Ref: "ghcr.io/acme/app:main", Done: true}}},
		"failed": {Verdict: NotVerified, Reason: "linux/arm64: image config has no moby.buildkit.cache.v0 key", Report: &failing, Steps: steps[2:],
			Imports: []buildlog.Import{{Ref: "ghcr.io/acme/app:main", Error: "failed to configure registry cache importer: ghcr.io/acme/app:main: not found"}}},
		"skipped": {Verdict: Skipped, Reason: "nothing was pushed, so there is no registry image to verify"},
	}
}

func TestResultRendering(t *testing.T) {
	t.Parallel()
	for name, r := range results() {
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
