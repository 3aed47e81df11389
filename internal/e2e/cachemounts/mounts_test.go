//go:build linux

package cachemounts

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/inlinecache/action/internal/e2e/harness"
	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/report"
)

// goBuiltRE finds the packages go build -v named in the test project's
// build step (printed with a prefix by its Dockerfile).
var goBuiltRE = regexp.MustCompile(`(?m)^#\d+ [\d.]+ go-build-v: (\S+)$`)

// goBuilt are the packages the run's go build compiled, sorted.
func goBuilt(log string) []string {
	var out []string
	for _, m := range goBuiltRE.FindAllStringSubmatch(log, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

// mountsReport reads the cacheMounts of a run's cache-report.
func mountsReport(t *testing.T, r run) []report.MountCache {
	t.Helper()
	var rep struct {
		CacheMounts []report.MountCache `json:"cacheMounts"`
	}
	if err := json.Unmarshal([]byte(r.Outputs["cache-report"]), &rep); err != nil {
		t.Fatalf("cache-report %q: %v", r.Outputs["cache-report"], err)
	}
	return rep.CacheMounts
}

// snapshotLayers is the snapshot tag's digest and layer count; "" and 0
// when there is none.
func snapshotLayers(t *testing.T, ref string) (string, int) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return "", 0
	}
	if err != nil {
		t.Fatalf("read %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return d.String(), len(ls)
}

// layerMediaType is the media type of the image's first layer.
func layerMediaType(t *testing.T, ref string) string {
	t.Helper()
	img := registrytest.Pull(t, ref)
	m, err := img.Manifest()
	if err != nil || len(m.Layers) == 0 {
		t.Fatalf("manifest of %s: %v", ref, err)
	}
	return string(m.Layers[0].MediaType)
}

// fileDigest is the sha256 of the file at path in the image at ref,
// read from its top-most layer that has it.
func fileDigest(t *testing.T, ref, path string) string {
	t.Helper()
	img := registrytest.Pull(t, ref)
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i := len(ls) - 1; i >= 0; i-- {
		rc, err := ls[i].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimPrefix(h.Name, "./") == strings.TrimPrefix(path, "/") {
				sum := sha256.New()
				if _, err := io.Copy(sum, tr); err != nil {
					t.Fatal(err)
				}
				rc.Close()
				return hex.EncodeToString(sum.Sum(nil))
			}
		}
		rc.Close()
	}
	t.Fatalf("no %s in %s", path, ref)
	return ""
}

// noCacheMounts checks that the builder's prune left no cache mount, so
// that what a rebuild finds in its mounts was restored.
func noCacheMounts(t *testing.T, environ []string) {
	t.Helper()
	buildx, err := lookPathIn(environ, "buildx")
	args := []string{"du", "--verbose"}
	if err != nil {
		buildx, err = lookPathIn(environ, "docker")
		args = append([]string{"buildx"}, args...)
	}
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(context.Background(), buildx, args...)
	cmd.Env = environ
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("buildx du: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "exec.cachemount") {
		t.Fatalf("the pruned builder still holds a cache mount:\n%s", out)
	}
}

// Cache mounts survive a cold builder through the registry: on the remote
// and docker-container builders, a first build saves Go's build cache; an
// unchanged rebuild on an emptied builder compiles nothing, pushes no
// snapshot layer and builds the same binary; after one package changes,
// a rebuild on an emptied builder compiles only that package and main.
func TestCacheMounts(t *testing.T) {
	bi := harness.BaseImages(t)
	for _, leg := range []string{"remote", "docker-container", "docker"} {
		t.Run(leg, func(t *testing.T) {
			t.Parallel()
			environ, prune := harness.CleanEnv(harness.Env.Environ()), func(t *testing.T) { harness.Prune(t) }
			switch leg {
			case "docker-container":
				b := harness.DockerContainer(t, "inline-cache-mounts")
				environ, prune = harness.CleanEnv(b.Environ()), func(t *testing.T) { harness.ContainerPrune(b)(t) }
			case "docker":
				d := engine(t)
				environ, prune = harness.CleanEnv(d.Environ()), func(t *testing.T) { enginePrune(t, d) }
			}
			ctx := project(t, "cacheprojects/gomounts")
			image := repo(t)
			snapRef := image + ":main-mounts"
			in := map[string]string{"context": ctx, "tags": image + ":main", "push": "true", "cache-mounts": "registry",
				"build-args": "GO=" + bi.GoTag}

			prune(t)
			first := actionIn(t, environ, in)
			checkPushed(t, first)
			built := goBuilt(first.Log)
			t.Logf("first build, go build -v: %q", built)
			for _, p := range []string{"runtime", "example.com/gomounts/a", "example.com/gomounts/b", "example.com/gomounts/c", "example.com/gomounts"} {
				if !slices.Contains(built, p) {
					t.Errorf("the first build did not compile %s: %q", p, built)
				}
			}
			ms := mountsReport(t, first)
			if len(ms) != 1 || ms[0].ID != "/root/.cache/go-build" || ms[0].Status != "saved" || ms[0].Saved == nil || ms[0].Saved.Files == 0 || ms[0].Saved.LayersPushed != 1 || ms[0].Restored != nil {
				t.Fatalf("first build's cache mounts = %+v, want the go build cache saved in one layer", ms)
			}
			digest1, layers1 := snapshotLayers(t, snapRef)
			if layers1 != 1 || digest1 != ms[0].Saved.Digest {
				t.Fatalf("snapshot %s: %s with %d layers, want the saved %s with 1", snapRef, digest1, layers1, ms[0].Saved.Digest)
			}
			if mt := layerMediaType(t, snapRef); leg != "docker" && !strings.HasSuffix(mt, "+zstd") {
				t.Errorf("the snapshot's layer is %s, want zstd", mt)
			}
			// Unchanged, on an emptied builder (one leg is enough): the
			// image's inline cache serves the step that copies the binary,
			// so go build does not even run, and nothing new is found in
			// the restored mount.
			if leg == "remote" {
				prune(t)
				noCacheMounts(t, environ)
				same := actionIn(t, environ, in)
				checkPushed(t, same)
				if got := goBuilt(same.Log); len(got) != 0 {
					t.Errorf("unchanged rebuild compiled %q, want nothing", got)
				}
				ms = mountsReport(t, same)
				if len(ms) != 1 || ms[0].Status != "unchanged" || ms[0].Restored == nil || ms[0].Restored.Files == 0 || ms[0].Saved == nil || ms[0].Saved.LayersPushed != 0 {
					t.Errorf("unchanged rebuild's cache mounts = %+v, want restored and nothing pushed", ms)
				} else if u := ms[0].Restored.Used; u == nil || *u {
					t.Errorf("unchanged rebuild: no step ran, yet the restored mount counts as used (%v)", u)
				}
				if d, n := snapshotLayers(t, snapRef); d != digest1 || n != 1 {
					t.Errorf("unchanged rebuild moved the snapshot to %s with %d layers", d, n)
				}
			}

			// One package changed, on an emptied builder: only it and
			// main compile; the new cache entries go up as one layer.
			if err := os.WriteFile(filepath.Join(ctx, "b", "b.go"), []byte("// Package b is one package of the test project.\npackage b\n\n// Name names the package.\nfunc Name() string { return \"b v2\" }\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			prune(t)
			noCacheMounts(t, environ)
			changed := actionIn(t, environ, in)
			checkPushed(t, changed)
			built = goBuilt(changed.Log)
			t.Logf("cold rebuild after changing package b, go build -v: %q", built)
			if want := []string{"example.com/gomounts", "example.com/gomounts/b"}; !slices.Equal(built, want) {
				t.Errorf("cold rebuild compiled %q, want only %q", built, want)
			}
			ms = mountsReport(t, changed)
			if len(ms) != 1 || ms[0].Status != "saved" || ms[0].Saved == nil || ms[0].Saved.LayersPushed != 1 || ms[0].Saved.PushedBytes <= 0 || ms[0].Saved.Files == 0 || ms[0].Saved.Files >= ms[0].Saved.TotalFiles {
				t.Errorf("rebuild's cache mounts = %+v, want the new entries saved as one layer", ms)
			} else if u := ms[0].Restored; u == nil || u.Used == nil || !*u.Used {
				t.Errorf("rebuild: go build ran with the restored mount, yet it does not count as used (%+v)", u)
			}
			if d, n := snapshotLayers(t, snapRef); d == digest1 || n != 2 {
				t.Errorf("after the change the snapshot is %s with %d layers, want a new one with 2", d, n)
			}
			t.Logf("RESULT (%s):\n%s", leg, resultBlock(changed.Log))
			if leg != "docker" {
				return
			}
			// The binary built with the restored compile cache is the one
			// a clean build of the same source makes (an emptied builder,
			// no cache of any kind); on the leg that is done soonest.
			prune(t)
			clean := actionIn(t, environ, map[string]string{"context": ctx, "tags": image + ":clean", "push": "true", "no-cache": "true", "build-args": "GO=" + bi.GoTag})
			checkPushed(t, clean)
			if got := goBuilt(clean.Log); !slices.Contains(got, "runtime") {
				t.Errorf("the clean build did not compile the standard library: %q", got)
			}
			restoredBin, cleanBin := fileDigest(t, image+"@"+changed.Outputs["digest"], "/app"), fileDigest(t, image+"@"+clean.Outputs["digest"], "/app")
			t.Logf("/app built with the restored cache: sha256:%s; clean build: sha256:%s", restoredBin, cleanBin)
			if restoredBin != cleanBin {
				t.Errorf("the binary built with the restored cache (sha256:%s) differs from the clean build's (sha256:%s)", restoredBin, cleanBin)
			}
		})
	}
}

// Each cache mount fault is a warning that names it, while the image is
// still built, pushed, verified and tagged: a mount whose key cannot be
// reproduced, a stage where no helper step can run, a mount over the
// cap, a registry that refuses the snapshot's tag, a snapshot with a
// missing layer, a corrupt snapshot.
func TestCacheMountsFaults(t *testing.T) {
	harness.BaseImages(t)
	target, err := url.Parse("http://" + harness.Env.Registry)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	refuse, missing := false, ""
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		refusing, gone := refuse, missing
		mu.Unlock()
		switch {
		case refusing && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && strings.HasSuffix(r.URL.Path, "-mounts"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"errors":[{"code":"DENIED","message":"snapshot tags are immutable here"}]}`))
			return
		case gone != "" && strings.HasSuffix(r.URL.Path, "/blobs/"+gone) && (r.Method == http.MethodHead || r.Method == http.MethodGet):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	image := strings.TrimPrefix(srv.URL, "http://") + "/e2e/mountfaults"
	snapRef := image + ":main-mounts"
	ctx := project(t, "cacheprojects/mountfaults")
	in := map[string]string{"context": ctx, "tags": image + ":main", "push": "true", "cache-mounts": "registry"}
	warned := func(t *testing.T, r run, says ...string) {
		t.Helper()
		checkPushed(t, r)
		for _, s := range says {
			if !strings.Contains(r.Log, s) {
				t.Errorf("no warning saying %q", s)
			}
		}
		ref, err := name.ParseReference(image + ":main")
		if err != nil {
			t.Fatal(err)
		}
		if d, err := remote.Head(ref); err != nil || d.Digest.String() != r.Outputs["digest"] {
			t.Errorf("the image's tag is not on the verified image: %v", err)
		}
	}

	t.Run("cap, key, no helper", func(t *testing.T) {
		r := action(t, with(in, "cache-mounts-max-size", "10kB"))
		warned(t, r, "::warning::cache-mounts registry: a cache mount (stage build, line 8) is not kept, its key cannot be reproduced: the cache mount's key uses $ID",
			"::warning::cache-mounts registry: cache mount /c (stage tools): the builder cannot run the helper step",
			"::warning::cache-mounts registry: cache mount /var/cache/blobs (stage build): not saved: it holds 64.",
			"more than the cap of 9.8 KiB (input cache-mounts-max-size)")
		if d, _ := snapshotLayers(t, snapRef); d != "" {
			t.Errorf("a snapshot was saved over the cap: %s", d)
		}
		ms := mountsReport(t, r)
		var status []string
		for _, m := range ms {
			status = append(status, m.ID+" "+m.Status)
		}
		if want := []string{"/var/cache/blobs skipped", "/c failed", "$ID skipped"}; !slices.Equal(status, want) || !strings.Contains(ms[2].Warning, "its key cannot be reproduced") {
			t.Errorf("cache mounts %q (%+v), want %q", status, ms, want)
		}
	})
	t.Run("tag refused", func(t *testing.T) {
		mu.Lock()
		refuse = true
		mu.Unlock()
		r := action(t, in)
		mu.Lock()
		refuse = false
		mu.Unlock()
		warned(t, r, "verified, but its tag could not be set", "snapshot tags are immutable here")
		if d, _ := snapshotLayers(t, snapRef); d != "" {
			t.Errorf("the refused tag is there: %s", d)
		}
	})
	t.Run("missing layer", func(t *testing.T) {
		saved := action(t, in)
		checkPushed(t, saved)
		if ms := mountsReport(t, saved); len(ms) != 3 || ms[0].Status != "saved" {
			t.Fatalf("cache mounts = %+v, want /var/cache/blobs saved", ms)
		}
		d := registrytest.FirstLayer(t, registrytest.Pull(t, snapRef))
		mu.Lock()
		missing = d.String()
		mu.Unlock()
		cold := action(t, in)
		mu.Lock()
		missing = ""
		mu.Unlock()
		warned(t, cold, "::warning::cache-mounts registry: the snapshot "+snapRef+" cannot be restored", "is listed in the snapshot's manifest but not in the registry")
		if ms := mountsReport(t, cold); len(ms) != 3 || ms[0].Restored != nil {
			t.Errorf("cache mounts = %+v, want nothing restored", ms)
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		r, err := name.ParseReference(snapRef)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, empty.Image); err != nil {
			t.Fatal(err)
		}
		cold := action(t, in)
		warned(t, cold, "::warning::cache-mounts registry: the snapshot "+snapRef+" cannot be restored", "has no io.inlinecache.mounts label")
	})
}

// with is in with key set to v.
func with(in map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for kk, vv := range in {
		if kk != k {
			out[kk] = vv
		}
	}
	return out
}
