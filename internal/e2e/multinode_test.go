//go:build linux

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inlinecache/action/internal/e2e/harness"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/inlinecache/action/internal/testenv"
	"github.com/inlinecache/action/internal/verify"
)

// multiPlatforms are built in every multi-platform leg. The test project
// copies a static amd64 busybox, which runs under a linux/386 label too.
const multiPlatforms = "linux/amd64,linux/386"

// checkPlatformsVerified asserts a verified push whose report covers
// exactly the built platforms (attestation manifests skipped).
func checkPlatformsVerified(t *testing.T, r run) {
	t.Helper()
	if r.Code != 0 || r.Outputs["cache-verified"] != "true" {
		t.Fatalf("exit %d cache-verified %q", r.Code, r.Outputs["cache-verified"])
	}
	rep := parseReport(t, r)
	var got []string
	for _, p := range rep.Report.Platforms {
		got = append(got, p.Platform)
		if !p.Verified || p.LayersTotal != 6 || p.LayersCovered != 6 {
			t.Errorf("platform %+v, want all 6 layers covered", p)
		}
	}
	if strings.Join(got, ",") != multiPlatforms {
		t.Errorf("verified platforms %q, want %s", got, multiPlatforms)
	}
}

func checkPlatformStepsCached(t *testing.T, r run, want bool) {
	t.Helper()
	steps := runVertices(r.Log)
	if len(steps) != 8 {
		t.Fatalf("found %d RUN vertices in the log, want 4 per platform: %v", len(steps), steps)
	}
	for step, cached := range steps {
		if cached != want {
			t.Errorf("%s: CACHED = %v, want %v", step, cached, want)
		}
	}
}

// attestations counts the attestation manifests in the pushed index.
func attestations(t *testing.T, ref string) int {
	t.Helper()
	idx, err := remote.Index(mustRef(t, ref))
	if err != nil {
		t.Fatalf("read index %s: %v", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range im.Manifests {
		if verify.IsAttestation(d) {
			n++
		}
	}
	return n
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestMultiPlatformOneNode builds two platforms on the one remote node,
// with provenance attestations in the index.
func TestMultiPlatformOneNode(t *testing.T) {
	ctx := project(t, "app")
	tag := repo(t) + ":main"
	in := map[string]string{"context": ctx, "tags": tag, "push": "true", "platforms": multiPlatforms, "provenance": "mode=max"}

	// Other tests built the same project on this node.
	prune(t)
	first := action(t, in)
	checkPlatformsVerified(t, first)
	checkPlatformStepsCached(t, first, false)
	if n := attestations(t, tag); n != 2 {
		t.Errorf("index has %d attestation manifests, want one per platform", n)
	}

	prune(t)
	second := action(t, in)
	checkPlatformsVerified(t, second)
	checkPlatformStepsCached(t, second, true)
}

// multiNodeBuilder is a remote builder of two buildkitd, each configured for
// one platform, joined with buildx create --append.
const multiNodeBuilder = "inline-cache-multi"

var (
	multiOnce    sync.Once
	multiErr     error
	multiSockets []string
)

func multiNode(t *testing.T) {
	t.Helper()
	multiOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for i, p := range strings.Split(multiPlatforms, ",") {
			node := "node-" + strings.ReplaceAll(p, "/", "-")
			toml := harness.Env.RegistryTOML() + fmt.Sprintf("[worker.oci]\n  platforms = [%q]\n", p)
			sock, err := harness.Env.StartBuildkitd(ctx, node, toml)
			if err != nil {
				multiErr = err
				return
			}
			multiSockets = append(multiSockets, sock)
			args := []string{"create", "--name", multiNodeBuilder, "--driver", "remote", "--node", node}
			if i > 0 {
				args = append(args, "--append")
			}
			if out, err := harness.Env.Buildx(ctx, append(args, "unix://"+sock)...); err != nil {
				multiErr = fmt.Errorf("buildx %s: %w\n%s", strings.Join(args, " "), err, out)
				return
			}
		}
	})
	if multiErr != nil {
		t.Fatal(multiErr)
	}
}

// TestMultiNode builds each platform on its own node and verifies both.
func TestMultiNode(t *testing.T) {
	multiNode(t)
	ctx := project(t, "app")
	tag := repo(t) + ":main"
	in := map[string]string{"context": ctx, "tags": tag, "push": "true", "platforms": multiPlatforms, "builder": multiNodeBuilder}

	pruneMulti(t)
	first := action(t, in)
	checkPlatformsVerified(t, first)
	checkPlatformStepsCached(t, first, false)
	if !strings.Contains(first.Log, `builder "`+multiNodeBuilder+`", driver remote, nodes: node-linux-amd64 BuildKit `+testenv.BuildKitVersion+" [linux/amd64") ||
		!strings.Contains(first.Log, "; node-linux-386 BuildKit "+testenv.BuildKitVersion+" [linux/386") {
		t.Errorf("plan does not show the two nodes")
	}

	// Each node built (and keeps cache for) its own platform.
	for _, sock := range multiSockets {
		if n := cacheRecords(t, sock); n == 0 {
			t.Errorf("node at %s holds no build cache: it built nothing", sock)
		}
	}

	pruneMulti(t)
	for _, sock := range multiSockets {
		if n := cacheRecords(t, sock); n != 0 {
			t.Errorf("node at %s still holds %d cache records after prune", sock, n)
		}
	}
	second := action(t, in)
	checkPlatformsVerified(t, second)
	checkPlatformStepsCached(t, second, true)
}

// TestMultiNodeOnePlatformUncached: an index whose linux/386 image lost its
// cache metadata (as when one node's export drops it) fails verification
// for that platform, by name, while linux/amd64 passes.
func TestMultiNodeOnePlatformUncached(t *testing.T) {
	multiNode(t)
	tag := repo(t) + ":main"
	r := action(t, map[string]string{"context": project(t, "app"), "tags": tag, "push": "true", "platforms": multiPlatforms, "builder": multiNodeBuilder})
	checkPlatformsVerified(t, r)

	idx, err := remote.Index(mustRef(t, tag))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	mixed := mutate.IndexMediaType(empty.Index, im.MediaType)
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if d.Platform != nil && d.Platform.Architecture == "386" {
			img = withoutCacheMetadata(t, img)
		}
		mixed = mutate.AppendManifests(mixed, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: d.Platform}})
	}
	mixedTag := repo(t) + ":mixed"
	if err := remote.WriteIndex(mustRef(t, mixedTag), mixed); err != nil {
		t.Fatalf("push mixed index: %v", err)
	}

	v := cli(t, "verify", mixedTag)
	if v.Code != 1 {
		t.Errorf("verify: exit %d, want 1", v.Code)
	}
	if !strings.Contains(v.Log, "linux/386: image config has no moby.buildkit.cache.v0 key") {
		t.Errorf("verify does not name linux/386 as the failing platform")
	}
	if strings.Contains(v.Log, "linux/amd64: image config has no") {
		t.Errorf("linux/amd64 reported as failing too")
	}
}

// withoutCacheMetadata rewrites the image config through go-containerregistry's
// typed config, which keeps only the standard fields: BuildKit's
// moby.buildkit.cache.v0 key is dropped, layers stay.
func withoutCacheMetadata(t *testing.T, img v1.Image) v1.Image {
	t.Helper()
	raw, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "moby.buildkit.cache.v0") {
		t.Fatalf("source image has no cache metadata to drop")
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	raw, err = out.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "moby.buildkit.cache.v0") {
		t.Fatalf("cache metadata survived the rewrite")
	}
	return out
}

// cacheRecords counts the build cache records of the buildkitd at sock.
func cacheRecords(t *testing.T, sock string) int {
	t.Helper()
	out, err := exec.Command(harness.Env.Tools.Buildctl, "--addr", "unix://"+sock, "du", "--format", "{{range .}}{{.ID}} {{end}}").CombinedOutput()
	if err != nil {
		t.Fatalf("buildctl du: %v\n%s", err, out)
	}
	return len(strings.Fields(string(out)))
}

func pruneMulti(t *testing.T) {
	t.Helper()
	if out, err := harness.Env.Buildx(context.Background(), "prune", "-af", "--builder", multiNodeBuilder); err != nil {
		t.Fatalf("buildx prune: %v\n%s", err, out)
	}
}
