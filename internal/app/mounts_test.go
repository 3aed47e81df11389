package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/inlinecache/action/internal/buildflags"
	"github.com/inlinecache/action/internal/command"
	"github.com/inlinecache/action/internal/plan"
	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/report"
	"github.com/inlinecache/action/internal/verify"
)

// fakeMounts is a strict stand-in for BuildKit running the cache-mounts
// helper builds: it checks each generated Dockerfile, writes the summaries
// a helper step would (restored: files bytes; collected: files bytes new
// new-bytes), and pushes a snapshot as BuildKit would: the FROM image's
// layers plus one layer per COPY, labelled, by digest.
type fakeMounts struct {
	restored  string // r0's summary
	collected string // c0's summary
	fail      bool   // every helper step fails
	files     []string
	pushes    int
}

var fromRE = regexp.MustCompile(`(?m)^FROM (\S+) AS snapshot$`)

func (m *fakeMounts) build(t *testing.T, c command.Cmd) error {
	arg := func(flag string) string {
		for i, a := range c.Args {
			if a == flag && i+1 < len(c.Args) {
				return c.Args[i+1]
			}
		}
		return ""
	}
	b, err := os.ReadFile(arg("--file"))
	if err != nil {
		t.Fatalf("helper Dockerfile: %v", err)
	}
	df := string(b)
	m.files = append(m.files, df)
	if !strings.Contains(df, "--mount=type=cache,id=/root/.cache/go-build,sharing=shared,target=/inline-cache/cache") || !strings.Contains(arg("--build-arg"), "INLINE_CACHE_NONCE=") {
		t.Errorf("helper build without the build's mount key or a nonce:\n%s\n%q", df, c.Args)
	}
	if m.fail {
		fmt.Fprintln(c.Stderr, `#3 [r0 2/2] RUN --mount=type=cache,id=/root/.cache/go-build set -e; cp -a`)
		fmt.Fprintln(c.Stderr, `#3 0.101 sh: cp: not found`)
		fmt.Fprintln(c.Stderr, `#3 ERROR: process "/bin/sh -c set -e; cp -a ..." did not complete successfully: exit code: 127`)
		fmt.Fprintln(c.Stderr, `ERROR: failed to build: failed to solve: process "/bin/sh -c set -e; cp -a ..." did not complete successfully: exit code: 127`)
		return &command.ExitError{Path: c.Path, Code: 1}
	}
	out := arg("--output")
	o, err := buildflags.ParseOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	if o.Type == "local" {
		dest, _ := o.Attrs.Get("dest")
		if err := os.MkdirAll(dest, 0o755); err != nil {
			t.Fatal(err)
		}
		name, sum := "c0", m.collected
		if strings.Contains(df, " AS r0") {
			name, sum = "r0", m.restored
		}
		return os.WriteFile(filepath.Join(dest, name), []byte(sum+"\n"), 0o644)
	}
	// The snapshot push: by digest, labelled, on top of the FROM image.
	if by, _ := o.Attrs.Get("push-by-digest"); by != "true" || arg("--target") != "snapshot" {
		t.Errorf("snapshot push %q: want by digest, target snapshot", c.Args)
	}
	base := empty.Image
	if f := fromRE.FindStringSubmatch(df); f != nil && f[1] != "scratch" {
		ref, err := name.ParseReference(f[1])
		if err != nil {
			t.Fatal(err)
		}
		if base, err = remote.Image(ref); err != nil {
			t.Fatalf("snapshot FROM %s: %v", f[1], err)
		}
	}
	img := base
	for range strings.Count(df, "COPY --link") {
		l, err := random.Layer(100, "application/vnd.oci.image.layer.v1.tar+zstd")
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	k, v, _ := strings.Cut(arg("--label"), "=")
	cfg.Config.Labels = map[string]string{k: v}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	repo, _ := o.Attrs.Get("name")
	registrytest.Push(t, repo+"@"+d.String(), img)
	m.pushes++
	meta, _ := json.Marshal(map[string]string{"containerimage.digest": d.String()})
	return os.WriteFile(arg("--metadata-file"), meta, 0o644)
}

const mountsDockerfile = "FROM golang:1.26 AS build\nRUN --mount=type=cache,target=/root/.cache/go-build go build -o /app .\nFROM scratch\nCOPY --from=build /app /app\n"

func mountsOf(t *testing.T, r result) []report.MountCache {
	t.Helper()
	return cacheReport(t, r).CacheMounts
}

// cacheReport is the run's cache-report output, read back.
func cacheReport(t *testing.T, r result) report.Result {
	t.Helper()
	var rep report.Result
	if err := json.Unmarshal([]byte(r.outputs["cache-report"]), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func layersOf(t *testing.T, ref string) []string {
	t.Helper()
	img := registrytest.Pull(t, ref)
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range m.Layers {
		out = append(out, l.Digest.String())
	}
	return out
}

// A first build saves the mount as one layer; the next restores it, and
// what is new goes up as one more layer on top; an unchanged build pushes
// nothing; a helper step the builder cannot run is a warning, and the
// image is verified all the same.
func TestCacheMountsRestoreAndSave(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	img := registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)
	in := map[string]string{"tags": reg + "/app:main", "push": "true", "cache-mounts": "registry"}
	snap := reg + "/app:main-mounts"

	m := &fakeMounts{collected: "10 4096 10 4000"}
	r := runApp(t, &fakeBuildx{t: t, image: img, mounts: m, dockerfile: mountsDockerfile}, in, nil)
	if r.code != 0 || r.outputs["cache-verified"] != "true" {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	ms := mountsOf(t, r)
	if len(ms) != 1 || ms[0].Status != "saved" || ms[0].Restored != nil || ms[0].Saved == nil || ms[0].Saved.Files != 10 || ms[0].Saved.LayersPushed != 1 || ms[0].Saved.PushedBytes <= 0 || ms[0].Saved.Ref != snap {
		t.Fatalf("first build's mounts = %+v", ms)
	}
	if len(m.files) != 2 || !strings.Contains(m.files[1], "FROM scratch AS snapshot\nCOPY --link --from=c0 ") || strings.Contains(m.files[0], "type=bind") {
		t.Errorf("first build's helpers: collect without a snapshot, push from scratch:\n%s", strings.Join(m.files, "\n---\n"))
	}
	if n := len(layersOf(t, snap)); n != 1 {
		t.Errorf("snapshot has %d layers, want 1", n)
	}
	if !strings.Contains(r.stdout, "cache mount /root/.cache/go-build (stage build): saved; saved 10 new files, 3.9 kB (layers pushed: 1, ") {
		t.Errorf("no line for the saved mount:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "cache-mounts: no snapshot at "+snap) {
		t.Errorf("no line saying there was no snapshot:\n%s", r.stdout)
	}

	m = &fakeMounts{restored: "10 4096", collected: "11 4196 1 100"}
	r = runApp(t, &fakeBuildx{t: t, image: img, mounts: m, dockerfile: mountsDockerfile}, in, nil)
	ms = mountsOf(t, r)
	if r.code != 0 || len(ms) != 1 || ms[0].Status != "saved" || ms[0].Restored == nil || ms[0].Restored.Files != 10 || ms[0].Restored.SnapshotBytes <= 0 || ms[0].Saved.Files != 1 || ms[0].Saved.LayersPushed != 1 {
		t.Fatalf("second build: exit %d, mounts %+v", r.code, ms)
	}
	if len(m.files) != 3 || !strings.Contains(m.files[0], "--mount=type=bind,from="+reg+"/app@sha256:") || !strings.Contains(m.files[2], "FROM "+reg+"/app@sha256:") {
		t.Errorf("second build's helpers: restore from the snapshot by digest, push on top of it:\n%s", strings.Join(m.files, "\n---\n"))
	}
	if u := ms[0].Restored.Used; u == nil || *u {
		t.Errorf("no step that ran had the mount (the fake's RUN make), yet used = %v", u)
	}
	if n := len(layersOf(t, snap)); n != 2 {
		t.Errorf("snapshot has %d layers, want 2", n)
	}
	if !strings.Contains(r.summary, "#### Cache mounts") {
		t.Errorf("summary has no cache mounts table:\n%s", r.summary)
	}

	m = &fakeMounts{restored: "11 4196", collected: "11 4196 0 0"}
	before := layersOf(t, snap)
	r = runApp(t, &fakeBuildx{t: t, image: img, mounts: m, dockerfile: mountsDockerfile}, in, nil)
	ms = mountsOf(t, r)
	if r.code != 0 || len(ms) != 1 || ms[0].Status != "unchanged" || m.pushes != 0 || !slices.Equal(before, layersOf(t, snap)) {
		t.Errorf("unchanged build: exit %d, mounts %+v, %d pushes", r.code, ms, m.pushes)
	}

	m = &fakeMounts{fail: true}
	r = runApp(t, &fakeBuildx{t: t, image: img, mounts: m, dockerfile: mountsDockerfile}, in, nil)
	ms = mountsOf(t, r)
	if r.code != 0 || r.outputs["cache-verified"] != "true" || len(ms) != 1 || ms[0].Status != "failed" {
		t.Fatalf("failing helper: exit %d, mounts %+v", r.code, ms)
	}
	want := "::warning::cache-mounts registry: cache mount /root/.cache/go-build (stage build): the builder cannot run the helper step that restores it from " + reg + "/app@sha256:"
	if !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "its step failed with exit code: 127") {
		t.Errorf("no warning %q with the step's exit code:\n%s", want, r.stdout)
	}
	if len(m.files) != 1 {
		t.Errorf("after a failed restore, %d more helper builds ran, want none", len(m.files)-1)
	}
}

// A save writes the snapshot afresh when it would grow past the layer
// limit, when it is mostly stale, or when it holds a mount this build does
// not keep; otherwise only the mounts with new files get a layer.
func TestMountSnapshotShape(t *testing.T) {
	t.Parallel()
	mc := &plan.MountCache{Mounts: []plan.Mount{{Dir: "m-a"}, {Dir: "m-b"}}}
	layers := func(n int) []v1.Descriptor { return make([]v1.Descriptor, n) }
	one := func(size int64) []v1.Descriptor { return []v1.Descriptor{{Size: size}} }
	for _, tc := range []struct {
		name     string
		from     *verify.Snapshot
		kept     []collected
		prevDirs []string
		compact  bool
		changed  []bool
	}{
		{"first save", nil, []collected{{i: 0, files: 5, bytes: 100, newFiles: 5}, {i: 1, files: 0}}, nil, false, []bool{true, false}},
		{"one more layer", &verify.Snapshot{Layers: one(100)}, []collected{{i: 0, files: 6, bytes: 120, newFiles: 1}, {i: 1, files: 3, bytes: 30}}, []string{"m-a"}, false, []bool{true, false}},
		{"nothing new", &verify.Snapshot{Layers: layers(8)}, []collected{{i: 0, files: 6, bytes: 120}}, []string{"m-a"}, false, []bool{false}},
		{"past the layer limit", &verify.Snapshot{Layers: layers(plan.CompactAfter)}, []collected{{i: 0, files: 6, bytes: 120, newFiles: 1}, {i: 1, files: 2, bytes: 9}}, []string{"m-a"}, true, []bool{true, true}},
		{"mostly stale", &verify.Snapshot{Layers: one(1000)}, []collected{{i: 0, files: 6, bytes: 120, newFiles: 1}}, []string{"m-a"}, true, []bool{true}},
		{"a mount no longer kept", &verify.Snapshot{Layers: one(100)}, []collected{{i: 0, files: 6, bytes: 120, newFiles: 1}}, []string{"m-a", "m-b"}, true, []bool{true}},
	} {
		mr := &mountRun{mc: mc, from: tc.from}
		compact, changed := mr.shape(tc.kept, tc.prevDirs)
		if compact != tc.compact || !slices.Equal(changed, tc.changed) {
			t.Errorf("%s: compact %v, changed %v; want %v, %v", tc.name, compact, changed, tc.compact, tc.changed)
		}
	}
}
