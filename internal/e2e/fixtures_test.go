//go:build linux

package e2e

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/inlinecache/action/internal/cachemeta"
	"github.com/inlinecache/action/internal/fixtures"
	"github.com/inlinecache/action/internal/testenv"
)

var updateFixtures = flag.Bool("update-fixtures", false, "rewrite testdata/cachemeta from fresh builds")

// fixtureRoot is where the captured fixtures live.
var fixtureRoot = filepath.Join("..", "..", "testdata", "cachemeta")

// fixtureCase is one build whose pushed image becomes a fixture.
type fixtureCase struct {
	name, project, platforms string
	// registryCache exports a type=registry cache and captures that
	// instead of the image.
	registryCache bool
}

var buildkitCases = []fixtureCase{
	{name: "single", project: "app", platforms: "linux/amd64"},
	{name: "multi-platform", project: "app", platforms: "linux/amd64,linux/386"},
	{name: "multistage", project: "cacheprojects/multistage", platforms: "linux/amd64"},
	{name: "copy-link", project: "cacheprojects/link", platforms: "linux/amd64"},
	{name: "registry-cache", project: "app", platforms: "linux/amd64", registryCache: true},
}

// TestCaptureFixtures builds the fixture projects with the real BuildKit
// and compares what it pushed with testdata/cachemeta. Timestamps and
// digests differ from build to build, so it compares the structure the
// decoder finds (records, coverage, graph, steps, problems), not bytes.
// With -update-fixtures it rewrites the fixtures instead.
func TestCaptureFixtures(t *testing.T) {
	builder := "buildkit-" + testenv.BuildKitVersion
	for _, c := range buildkitCases {
		t.Run(c.name, func(t *testing.T) {
			ref := repo(t) + ":" + c.name
			args := []string{"build", "--platform", c.platforms, "--tag", ref, "--push", "--progress", "plain"}
			capture := ref
			if c.registryCache {
				capture = repo(t) + ":cache"
				args = append(args, "--cache-to", "type=registry,mode=max,ref="+capture)
			} else {
				args = append(args, "--cache-to", "type=inline")
			}
			out, err := env.Buildx(context.Background(), append(args, project(t, c.project))...)
			if err != nil {
				t.Fatalf("buildx build: %v\n%s", err, out)
			}
			compareOrUpdate(t, capture, filepath.Join(fixtureRoot, builder, c.name))
		})
	}
}

func compareOrUpdate(t *testing.T, ref, dir string) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fixtures.Capture(r)
	if err != nil {
		t.Fatalf("capture %s: %v", ref, err)
	}
	if *updateFixtures {
		if err := got.Write(dir); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", dir)
	}
	want, err := fixtures.Load(dir)
	if err != nil {
		t.Fatalf("%v (run with -update-fixtures to capture it)", err)
	}
	if got.TopMediaType != want.TopMediaType {
		t.Errorf("top media type %s, fixture has %s", got.TopMediaType, want.TopMediaType)
	}
	g, w := structure(t, got), structure(t, want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("the build's cache differs in structure from fixture %s:\n got  %+v\n want %+v", dir, g, w)
	}
	if _, err := os.Stat(filepath.Join(dir, "configs")); err != nil {
		t.Error(err)
	}
}

// structure is what must not change between two builds of the same
// project: per platform, the analysed summary.
func structure(t *testing.T, f *fixtures.Fixture) map[string]cachemeta.Summary {
	t.Helper()
	imgs, err := f.Images()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]cachemeta.Summary{}
	for _, img := range imgs {
		p, err := cachemeta.Decode(img.Config)
		if err != nil {
			t.Fatalf("%s: %v", img.Platform, err)
		}
		s := cachemeta.Analyze(p, len(img.Manifest.Layers))
		if !s.Valid() {
			t.Errorf("%s: cache not valid: %q", img.Platform, s.Problems)
		}
		out[img.Platform] = s
	}
	if strings.Contains(string(f.TopMediaType), "index") && len(imgs) == 0 {
		out["(index of non-images)"] = cachemeta.Summary{Records: len(f.Manifests)}
	}
	return out
}
