package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	cachetypes "github.com/moby/buildkit/cache/remotecache/v1/types"

	"github.com/inlinecache/action/internal/cachemeta"
	"github.com/inlinecache/action/internal/fixtures"
	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/report"
	"github.com/inlinecache/action/internal/verify"
)

var updateGolden = flag.Bool("update", false, "rewrite internal/app/testdata goldens")

// pushFixture serves the fixture testdata/cachemeta/<rel> from a fresh
// in-memory registry and returns its ref and the registry's address.
func pushFixture(t *testing.T, rel string) (ref, reg string) {
	t.Helper()
	f, err := fixtures.Load(filepath.Join("..", "..", "testdata", "cachemeta", rel))
	if err != nil {
		t.Fatal(err)
	}
	reg = registrytest.Serve(t)
	repo, err := name.NewRepository(reg + "/fixture")
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(rel, "registry-cache") {
		// verify looks up a registry cache's layer blobs: push it whole.
		rc, err := f.RegistryCache()
		if err != nil {
			t.Fatal(err)
		}
		ref, err = rc.Push(context.Background(), repo, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ref, reg
	}
	ref, err = f.Push(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	return ref, reg
}

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut strings.Builder
	e := Env{
		Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &errOut,
		Exec:          (&fakeBuildx{t: t}).exec,
		VerifyOptions: []verify.Option{verify.WithKeychain(authn.NewMultiKeychain())},
	}
	code := Main(context.Background(), args, e)
	return code, out.String(), errOut.String()
}

func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./internal/app -run %s -update creates it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestVerifyAndInspectFixtures runs both commands on what real builders
// pushed, served byte for byte from a test registry.
func TestVerifyAndInspectFixtures(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		fixture string
		code    int
	}{
		{"buildkit-v0.34.2/multi-platform", ExitOK},
		{"buildkit-v0.34.2/copy-link", ExitOK},
		{"buildkit-v0.34.2/multistage", ExitOK},
		{"dockerd-20.10/docker-build", ExitOK},
		{"buildkit-v0.34.2/registry-cache", ExitOK},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			ref, reg := pushFixture(t, c.fixture)
			clean := func(s string) string { return strings.ReplaceAll(s, reg, "REGISTRY") }
			base := strings.ReplaceAll(c.fixture, "/", "_")
			for _, mode := range []struct{ cmd, suffix string }{{"verify", ".txt"}, {"verify", ".json"}, {"inspect", ".txt"}, {"inspect", ".json"}} {
				args := []string{mode.cmd, ref}
				if mode.suffix == ".json" {
					args = []string{mode.cmd, "--json", ref}
				}
				code, out, errOut := runCmd(t, args...)
				want := c.code
				if mode.cmd == "inspect" {
					want = ExitOK
				}
				if code != want {
					t.Errorf("%s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errOut)
				}
				goldenFile(t, base+"."+mode.cmd+mode.suffix, clean(out))
			}
		})
	}
}

func TestVerifyInspectUsageErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"verify"}, `input "REF": no image reference given`},
		{[]string{"inspect"}, `input "REF": no image reference given`},
		{[]string{"verify", "UPPER/case:tag"}, `"UPPER/case:tag" is not a valid image reference`},
		{[]string{"inspect", "a:1", "b:2"}, "inspect takes one image reference, got 2"},
		{[]string{"verify", "--bogus", "a:1"}, "flag provided but not defined: -bogus"},
		{[]string{"inspect", "--bogus", "a:1"}, "flag provided but not defined: -bogus"},
	} {
		code, out, errOut := runCmd(t, c.args...)
		if code != ExitUsage || !strings.Contains(out+errOut, c.says) {
			t.Errorf("%q: exit %d, want 2 and a message saying %q\n%s%s", c.args, code, c.says, out, errOut)
		}
	}
}

func TestInspectUnreadableImageFails(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	code, out, _ := runCmd(t, "inspect", reg+"/nope@sha256:"+strings.Repeat("a", 64))
	if code != ExitFailed || !strings.Contains(out, "cannot read") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

// A platform read whole that carries no cache is inspected (exit 0, verify
// judges); a platform whose manifest cannot be read makes inspect fail.
func TestInspectUnreadablePlatformFails(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	amd := registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)
	arm := registrytest.Image(t, "linux/arm64", 2, registrytest.None)
	ref := registrytest.PushIndex(t, reg+"/app:main", amd, arm)

	code, out, errOut := runCmd(t, "inspect", ref)
	if code != 0 || !strings.Contains(out, "no usable cache") {
		t.Errorf("no cache on linux/arm64: exit %d, want 0\n%s%s", code, out, errOut)
	}

	d, err := amd.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Delete(mustRef(t, reg+"/app@"+d.String())); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCmd(t, "inspect", ref)
	if code != ExitFailed {
		t.Errorf("linux/amd64 unreadable: exit %d, want %d\n%s%s", code, ExitFailed, out, errOut)
	}
	if !strings.Contains(out, "could not be read: cannot read manifest "+d.String()) {
		t.Errorf("the platform does not say it could not be read:\n%s", out)
	}
	if !strings.Contains(errOut, "1 of 2 platforms could not be read: linux/amd64") {
		t.Errorf("the error does not name the unread platform:\n%s", errOut)
	}
}

// TestVerifyAndInspectBrokenCache serves the dockerd fixture with its
// payload changed to point a result past the last layer and two records at
// each other: both commands must say so, and verify must exit 1.
func TestVerifyAndInspectBrokenCache(t *testing.T) {
	t.Parallel()
	f, err := fixtures.Load(filepath.Join("..", "..", "testdata", "cachemeta", "dockerd-20.10", "docker-build"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(f.Top, &m); err != nil {
		t.Fatal(err)
	}
	cfgDesc := m["config"].(map[string]any)
	oldHex := strings.TrimPrefix(cfgDesc["digest"].(string), "sha256:")
	var cfg map[string]any
	if err := json.Unmarshal(f.Configs[oldHex], &cfg); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(cfg[cachemeta.ConfigKey].(string))
	var recs []cachetypes.CacheRecord
	if err := json.Unmarshal(raw, &recs); err != nil {
		t.Fatal(err)
	}
	recs[0].Results[0].LayerIndex = 9
	recs[1].Inputs = [][]cachetypes.CacheInput{{{LinkIndex: 2}}}
	recs[2].Inputs = [][]cachetypes.CacheInput{{{LinkIndex: 1}}}
	raw, _ = json.Marshal(recs)
	cfg[cachemeta.ConfigKey] = base64.StdEncoding.EncodeToString(raw)
	newCfg, _ := json.Marshal(cfg)
	h, _, _ := v1.SHA256(bytes.NewReader(newCfg))
	delete(f.Configs, oldHex)
	f.Configs[h.Hex] = newCfg
	cfgDesc["digest"], cfgDesc["size"] = h.String(), len(newCfg)
	f.Top, _ = json.Marshal(m)

	reg := registrytest.Serve(t)
	repo, _ := name.NewRepository(reg + "/broken")
	ref, err := f.Push(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		file string
	}{
		{[]string{"verify", ref}, ExitFailed, "broken.verify.txt"},
		{[]string{"verify", "--json", ref}, ExitFailed, "broken.verify.json"},
		{[]string{"inspect", ref}, ExitOK, "broken.inspect.txt"},
	} {
		code, out, errOut := runCmd(t, c.args...)
		if code != c.code {
			t.Errorf("%q: exit %d, want %d\n%s%s", c.args, code, c.code, out, errOut)
		}
		for _, says := range []string{"result layer index 9 is out of range", "records link in a cycle (1 → 2 → 1)"} {
			if !strings.Contains(out, says) {
				t.Errorf("%q does not say %q:\n%s", c.args, says, out)
			}
		}
		goldenFile(t, c.file, strings.ReplaceAll(out, reg, "REGISTRY"))
	}
}

// TestVerifyAndInspectBrokenRegistryCache: a registry cache with a layer
// blob gone fails verify (exit 1) naming the blob, and is still inspected
// (exit 0); one whose config cannot be read fails both.
func TestVerifyAndInspectBrokenRegistryCache(t *testing.T) {
	t.Parallel()
	rc, err := fixtures.LoadRegistryCache(filepath.Join("..", "..", "testdata", "cachemeta", "buildkit-v0.34.2", "registry-cache"))
	if err != nil {
		t.Fatal(err)
	}
	gone := rc.Manifest.Layers[1].Digest.String()
	for _, c := range []struct {
		name          string
		skip          []string
		verify, inspc int
		says          string
	}{
		{"blob-gone", []string{gone}, ExitFailed, ExitOK,
			"layer blob " + gone + " is listed in the cache manifest but not in the registry (registry REGISTRY, repository blob-gone): 404 Not Found"},
		{"config-gone", []string{"config"}, ExitFailed, ExitFailed, "cannot read cache config sha256:"},
	} {
		// A registry of its own: the in-memory registry keeps blobs
		// across repositories.
		reg := registrytest.Serve(t)
		c.says = strings.ReplaceAll(c.says, "REGISTRY", reg)
		repo, _ := name.NewRepository(reg + "/" + c.name)
		ref, err := rc.Push(context.Background(), repo, true, c.skip)
		if err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runCmd(t, "verify", ref)
		if code != c.verify || !strings.Contains(out, ref+": NOT VERIFIED") || !strings.Contains(out, "  problem: "+c.says) ||
			!strings.Contains(out+errOut, "1 of 1 images lack valid inline cache") {
			t.Errorf("%s: verify exit %d, want %d and a problem %q\n%s%s", c.name, code, c.verify, c.says, out, errOut)
		}
		code, out, errOut = runCmd(t, "inspect", ref)
		if code != c.inspc || !strings.Contains(out, "kind:       registry cache") || !strings.Contains(out, c.says) || !strings.Contains(out, "verdict: NOT valid") {
			t.Errorf("%s: inspect exit %d, want %d\n%s%s", c.name, code, c.inspc, out, errOut)
		}
	}
}

// TestVerifyJSONStdoutIsJSONOnly: with --json, stdout holds one JSON
// document and nothing else, whatever the verdict; the verdict message
// goes to stderr, so `verify --json REF | jq` works when the cache is bad.
func TestVerifyJSONStdoutIsJSONOnly(t *testing.T) {
	t.Parallel()
	// An image pushed without inline cache: not verified.
	reg := registrytest.Serve(t)
	ref := registrytest.Push(t, reg+"/app:plain", registrytest.Image(t, "linux/amd64", 2, registrytest.None))
	for _, args := range [][]string{{"verify", "--json", ref}, {"verify", "--json", "--verify", "warn", ref}} {
		code, out, errOut := runCmd(t, args...)
		dec := json.NewDecoder(strings.NewReader(out))
		var doc report.VerifyOutput
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("%q: stdout is not JSON: %v\n%s", args, err, out)
		}
		if rest, _ := io.ReadAll(dec.Buffered()); strings.TrimSpace(string(rest)) != "" || dec.More() {
			t.Errorf("%q: stdout has more than the JSON document: %q", args, rest)
		}
		if doc.Verified || len(doc.Images) != 1 {
			t.Errorf("%q: document %+v, want one image, not verified", args, doc)
		}
		if !strings.Contains(out+errOut, "1 of 1 images lack valid inline cache") {
			t.Errorf("%q: exit %d, stderr %q lacks the verdict message", args, code, errOut)
		}
	}
}

// TestUsageErrorsLeaveStdoutEmpty: a usage error of verify or inspect is
// reported on stderr, like the flag package's, so that a --json reader
// never finds a message where it expects the document.
func TestUsageErrorsLeaveStdoutEmpty(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"verify", "--json", "UPPER/case:tag"},
		{"inspect", "--json", "a:1", "b:2"},
		{"verify", "--json", "--verify", "sometimes", "a:1"},
	} {
		code, out, errOut := runCmd(t, args...)
		if code != ExitUsage || out != "" || !strings.Contains(errOut, "error: input ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, nothing on stdout, the error on stderr", args, code, out, errOut)
		}
	}
}
