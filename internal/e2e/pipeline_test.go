package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

var attestProvenanceRE = regexp.MustCompile(`--attest "?(?i:type)=provenance[^ ]*`)

// The provenance input wins over an attests entry of the same type, however
// the entry spells its key (buildx lowercases keys): one provenance
// attestation reaches buildx, with the input's attributes.
func TestProvenanceInputWinsOverAttests(t *testing.T) {
	ctx := project(t, "app")
	tag := repo(t) + ":main"
	r := action(t, map[string]string{
		"context": ctx, "tags": tag, "push": "true",
		"attests":    "TYPE=provenance,mode=max",
		"provenance": "true",
	})
	checkVerified(t, r)
	var cmd string
	for _, l := range strings.Split(r.Log, "\n") {
		if strings.Contains(l, "command:") {
			cmd = l
		}
	}
	t.Logf("command line: %s", cmd)
	got := attestProvenanceRE.FindAllString(cmd, -1)
	if len(got) != 1 || strings.Contains(got[0], "mode=max") {
		t.Errorf("provenance --attest flags = %q, want one, from the provenance input", got)
	}
}

// TestPushToTwoRepositories pushes one build to two repositories of the
// registry and verifies both: the first in full, the second by the same
// digest.
func TestPushToTwoRepositories(t *testing.T) {
	ctx := project(t, "app")
	one, two := repo(t)+"/one:v1", repo(t)+"/two:v1"
	r := action(t, map[string]string{"context": ctx, "tags": one + "\n" + two, "push": "true"})
	rep := checkVerified(t, r)
	digest := r.Outputs["digest"]
	for _, tag := range []string{one, two} {
		d, err := remote.Head(mustRef(t, tag))
		if err != nil {
			t.Fatalf("%s not pushed: %v", tag, err)
		}
		if d.Digest.String() != digest {
			t.Errorf("%s is %s, not the built %s", tag, d.Digest, digest)
		}
	}
	if !strings.HasPrefix(rep.Report.Ref, repo(t)+"/one@") {
		t.Errorf("verified %q, want the first repository by digest", rep.Report.Ref)
	}
}
