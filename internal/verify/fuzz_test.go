package verify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/verify"
)

// FuzzParseReference: every REF a user gives verify, inspect or the
// action goes through Verifier.ParseReference. It must never panic, and a
// reference it accepts must print as a reference it accepts again, to the
// same string. Seeds include the digests of the fixture manifests.
func FuzzParseReference(f *testing.F) {
	manifests, _ := filepath.Glob("../../testdata/cachemeta/*/*/manifests/*.json")
	for _, m := range manifests {
		f.Add("127.0.0.1:5000/fixture@sha256:" + strings.TrimSuffix(filepath.Base(m), ".json"))
	}
	if _, err := os.Stat("../../testdata/cachemeta"); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"ghcr.io/acme/app:main", "alpine", "localhost:5000/a/b:c@sha256:" + strings.Repeat("0", 64), "Not A Ref", "10.0.0.1:5000/app"} {
		f.Add(s)
	}
	v := verify.New(verify.WithInsecureRegistries([]string{"10.0.0.1:5000"}))
	f.Fuzz(func(t *testing.T, ref string) {
		r, err := v.ParseReference(ref)
		if err != nil {
			return
		}
		again, err := v.ParseReference(r.String())
		if err != nil || again.String() != r.String() {
			t.Fatalf("%q → %q → %v, %v", ref, r.String(), again, err)
		}
		if r.Context().RegistryStr() == "" || r.Context().RepositoryStr() == "" {
			t.Fatalf("%q parsed without registry or repository: %q", ref, r.String())
		}
	})
}
