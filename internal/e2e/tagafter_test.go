//go:build linux

package e2e

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/inlinecache/action/internal/registrytest"
)

// TestTagAfterVerify: on the remote builder (buildkitd v0.34.2) the image
// is pushed by digest to both repositories, verified, and only then are
// the tags set: a tag that pointed at an older image moves, a new one is
// created, all to the verified digest; the command line carries no --tag.
func TestTagAfterVerify(t *testing.T) {
	ctx := project(t, "app")
	one, two := repo(t)+"/one", repo(t)+"/two"
	// An older image under :main, pushed the ordinary way.
	old := action(t, map[string]string{"context": ctx, "tags": one + ":main", "push": "true", "tag-after-verify": "false"})
	checkVerified(t, old)
	if !strings.Contains(old.Log, " --tag "+one+":main") || strings.Contains(old.Log, "push-by-digest") {
		t.Fatalf("tag-after-verify false does not push the tag with the image")
	}
	oldDigest := registrytest.Head(t, one+":main")
	logTags(t, "before", one, two)

	in := map[string]string{
		"context": ctx, "tags": one + ":main\n" + one + ":v2\n" + two + ":main", "push": "true",
		// A changed build arg makes a new image.
		"build-args": "GREETING=verified first",
	}
	r := action(t, in)
	checkVerified(t, r)
	digest := r.Outputs["digest"]
	if digest == oldDigest {
		t.Fatalf("the second build made the same image %s", digest)
	}
	if !strings.Contains(r.Log, `--output "type=image,\"name=`+one+","+two+`\",push-by-digest=true,name-canonical=true,push=true"`) || strings.Contains(r.Log, " --tag ") {
		t.Errorf("the build does not push by digest to both repositories without tags")
	}
	for _, tg := range []string{one + ":main", one + ":v2", two + ":main"} {
		if got := registrytest.Head(t, tg); got != digest {
			t.Errorf("%s → %q, want the verified %s", tg, got, digest)
		}
	}
	for _, want := range []string{
		"::group::inline-cache: tag",
		"tags: set to the verified " + digest,
		"moved     " + one + ":main (was " + oldDigest + ")",
		"created   " + one + ":v2",
		"created   " + two + ":main",
	} {
		if !strings.Contains(r.Log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	logTags(t, "after", one, two)
	if !strings.Contains(r.Summary, "Tags set to the verified `"+digest+"`") {
		t.Errorf("summary does not list the tags set")
	}
}

// logTags shows each repository's tags and what they resolve to, read
// from the registry, for the record of a run (go test -v).
func logTags(t *testing.T, when string, repos ...string) {
	t.Helper()
	for _, rp := range repos {
		repo, err := name.NewRepository(rp)
		if err != nil {
			t.Fatal(err)
		}
		tags, err := remote.List(repo)
		if err != nil {
			t.Logf("%s: %s: %v", when, rp, err)
			continue
		}
		for _, tg := range tags {
			t.Logf("%s: %s:%s → %s", when, rp, tg, registrytest.Head(t, rp+":"+tg))
		}
	}
}
