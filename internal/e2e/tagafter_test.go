//go:build linux

package e2e

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// headIn is what ref resolves to in the test registry, or "" when the
// registry says it does not exist; opts reach a secured registry.
func headIn(t *testing.T, ref string, opts ...remote.Option) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r, opts...)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return ""
	}
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return d.Digest.String()
}

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
	if !strings.Contains(old.log, " --tag "+one+":main") || strings.Contains(old.log, "push-by-digest") {
		t.Fatalf("tag-after-verify false does not push the tag with the image")
	}
	oldDigest := headIn(t, one+":main")

	in := map[string]string{
		"context": ctx, "tags": one + ":main\n" + one + ":v2\n" + two + ":main", "push": "true",
		// A changed build arg makes a new image.
		"build-args": "GREETING=verified first",
	}
	r := action(t, in)
	checkVerified(t, r)
	digest := r.outputs["digest"]
	if digest == oldDigest {
		t.Fatalf("the second build made the same image %s", digest)
	}
	if !strings.Contains(r.log, `--output "type=image,\"name=`+one+","+two+`\",push-by-digest=true,name-canonical=true,push=true"`) || strings.Contains(r.log, " --tag ") {
		t.Errorf("the build does not push by digest to both repositories without tags")
	}
	for _, tg := range []string{one + ":main", one + ":v2", two + ":main"} {
		if got := headIn(t, tg); got != digest {
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
		if !strings.Contains(r.log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if !strings.Contains(r.summary, "Tags set to the verified `"+digest+"`") {
		t.Errorf("summary does not list the tags set")
	}
}
