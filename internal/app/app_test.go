package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/inlinecache/action/internal/buildflags"
	"github.com/inlinecache/action/internal/command"
	"github.com/inlinecache/action/internal/progress"
	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/report"
	"github.com/inlinecache/action/internal/verify"
)

// fakeBuildx is a strict stand-in for the buildx command: it answers
// "buildx version", and for "build" checks the arguments, prints a plain
// progress log, pushes image (if any) to the tag's registry and writes the
// metadata and image ID files as buildx does. Any other call fails the test.
type fakeBuildx struct {
	t        *testing.T
	image    v1.Image // pushed by build; nil pushes nothing
	exitCode int      // non-zero fails the build
	calls    [][]string
	// inspect names the captured "buildx inspect" output in
	// internal/builder/testdata to answer with; empty means a remote builder.
	inspect string
	// docker, if set, answers every call instead: a docker CLI without
	// buildx (see legacy_test.go).
	docker *fakeDocker
	// lost are tags the fake registry loses after the push.
	lost map[string]bool
	// version is what "buildx version" says; empty: v0.38.2.
	version string
	// engineInfo is the builder testdata file docker info prints for a
	// docker-driver builder; empty: dockerd 20.10's.
	engineInfo string
	// started, if set, is closed when the build command starts.
	started chan struct{}
	// failTarget fails the build of that --target (a stage cache build).
	failTarget string
	// mounts, if set, answers the cache-mounts helper builds (mounts_test.go).
	mounts *fakeMounts
	// dockerfile, if set, is the context's Dockerfile (runApp).
	dockerfile string
	mu         sync.Mutex // detection runs some calls side by side
}

// fakePlugin is where runApp's docker CLI has its buildx plugin.
const fakePlugin = "/usr/libexec/docker/cli-plugins/docker-buildx"

func (f *fakeBuildx) exec(_ context.Context, c command.Cmd) error {
	args := append([]string{filepath.Base(c.Path)}, c.Args...)
	f.mu.Lock()
	f.calls = append(f.calls, args)
	f.mu.Unlock()
	if f.docker != nil {
		return f.docker.exec(c, args)
	}
	switch {
	case slices.Equal(args, []string{"docker-buildx", "version"}), slices.Equal(args, []string{"buildx", "version"}):
		v := f.version
		if v == "" {
			v = "v0.38.2"
		}
		fmt.Fprintf(c.Stdout, "github.com/docker/buildx %s fake\n", v)
		return nil
	case slices.Equal(args, []string{"docker-buildx", "inspect"}), slices.Equal(args, []string{"buildx", "inspect"}):
		return f.inspectOut(c)
	case len(args) == 6 && args[0] == "docker" && args[1] == "--context" && slices.Equal(args[3:], []string{"info", "--format", "{{json .}}"}):
		// A docker-driver builder's engine (dockerd 20.10 unless said).
		name := f.engineInfo
		if name == "" {
			name = "info-dockerd-20.10.json"
		}
		return f.testdataOut(c, name)
	case len(args) > 1 && args[1] == "build":
		if f.started != nil {
			close(f.started)
		}
		return f.build(c)
	}
	f.t.Errorf("unexpected command %q", args)
	return &command.ExitError{Path: c.Path, Code: 127}
}

func (f *fakeBuildx) inspectOut(c command.Cmd) error {
	name := f.inspect
	if name == "" {
		name = "inspect-remote.txt"
	}
	return f.testdataOut(c, name)
}

func (f *fakeBuildx) testdataOut(c command.Cmd, name string) error {
	b, err := os.ReadFile(filepath.Join("..", "builder", "testdata", name))
	if err != nil {
		f.t.Fatal(err)
	}
	_, _ = c.Stdout.Write(b)
	return nil
}

func (f *fakeBuildx) build(c command.Cmd) error {
	flagValue := func(name string) string {
		for i, a := range c.Args {
			if a == name && i+1 < len(c.Args) {
				return c.Args[i+1]
			}
		}
		f.t.Fatalf("build has no %s: %q", name, c.Args)
		return ""
	}
	if i := slices.Index(c.Args, "--file"); f.mounts != nil && i >= 0 && strings.Contains(c.Args[i+1], "/mounts/") {
		return f.mounts.build(f.t, c)
	}
	if f.failTarget != "" && slices.Contains(c.Args, "--target") && flagValue("--target") == f.failTarget {
		fmt.Fprintln(c.Stderr, "ERROR: failed to build: failed to solve: failed to push: 403 Forbidden")
		return &command.ExitError{Path: c.Path, Code: 1}
	}
	if flagValue("--progress") == "rawjson" {
		if err := f.rawjson(c.Stderr); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(c.Stderr, "#5 [1/2] COPY a /a")
		fmt.Fprintln(c.Stderr, "#5 CACHED")
		fmt.Fprintln(c.Stderr, "#6 [2/2] RUN make")
		if f.exitCode != 0 {
			fmt.Fprintln(c.Stderr, "#6 ERROR: process \"/bin/sh -c make\" did not complete successfully: exit code: 2")
			fmt.Fprintln(c.Stderr, "ERROR: failed to build: make failed")
			return &command.ExitError{Path: c.Path, Code: f.exitCode}
		}
		fmt.Fprintln(c.Stderr, "#6 DONE 0.1s")
	}
	meta := map[string]any{"buildx.build.ref": "fake/ref"}
	var d v1.Hash
	if f.image != nil {
		d, _ = f.image.Digest()
	}
	// lost names repositories the fake registry loses after the push.
	push := func(ref string) {
		r, err := name.ParseReference(ref)
		if err != nil {
			f.t.Fatal(err)
		}
		if !f.lost[r.Context().Name()] {
			registrytest.Push(f.t, ref, f.image)
		}
	}
	if f.image != nil && slices.Contains(c.Args, "--push") {
		var tags []string
		for i, a := range c.Args {
			if a == "--tag" && i+1 < len(c.Args) {
				tags = append(tags, c.Args[i+1])
				push(c.Args[i+1])
			}
		}
		meta["containerimage.digest"] = d.String()
		meta["image.name"] = strings.Join(tags, ",")
	}
	for i, a := range c.Args {
		if a != "--output" || i+1 == len(c.Args) || f.image == nil {
			continue
		}
		// An image output that pushes by digest: every name, no tag.
		o, err := buildflags.ParseOutput(c.Args[i+1])
		if err != nil {
			f.t.Fatal(err)
		}
		if byDigest, _ := o.Attrs.Get("push-by-digest"); o.Type == "image" && byDigest == "true" {
			names, _ := o.Attrs.Get("name")
			for _, n := range strings.Split(names, ",") {
				push(n + "@" + d.String())
			}
			meta["containerimage.digest"] = d.String()
			meta["image.name"] = names
		}
	}
	b, _ := json.Marshal(meta)
	if err := os.WriteFile(flagValue("--metadata-file"), b, 0o644); err != nil {
		f.t.Fatal(err)
	}
	if !slices.Contains(c.Args, "--iidfile") {
		return nil // a stage cache build
	}
	if err := os.WriteFile(flagValue("--iidfile"), []byte("sha256:feedface"), 0o644); err != nil {
		f.t.Fatal(err)
	}
	return nil
}

// rawjson writes the build's progress as buildx 0.15 and later do with
// --progress rawjson: a SolveStatus object per line, with a build check
// warning, and on failure the vertex error and buildx's own lines.
func (f *fakeBuildx) rawjson(w io.Writer) error {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	put := func(st progress.Status) {
		b, err := json.Marshal(st)
		if err != nil {
			f.t.Fatal(err)
		}
		fmt.Fprintf(w, "%s\n", b)
	}
	copyV := progress.Vertex{Digest: "sha256:c0", Name: "[1/2] COPY a /a", Started: at(0), Completed: at(10), Cached: true}
	runV := progress.Vertex{Digest: "sha256:a1", Inputs: []string{"sha256:c0"}, Name: "[2/2] RUN make", Started: at(20)}
	put(progress.Status{Vertexes: []progress.Vertex{copyV, runV}})
	put(progress.Status{Logs: []progress.Log{{Vertex: "sha256:a1", Stream: 1, Data: []byte("cc -o app main.c\n"), Timestamp: at(50)}}})
	put(progress.Status{Warnings: []progress.Warning{{Vertex: "sha256:a1", Level: 1,
		Short: []byte("JSONArgsRecommended: JSON arguments recommended for CMD (line 3)"), URL: "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/",
		SourceInfo: &progress.SourceInfo{Filename: "Dockerfile"}, Range: []progress.Range{{Start: progress.Position{Line: 3}, End: progress.Position{Line: 3}}}}}})
	if f.exitCode != 0 {
		runV.Completed, runV.Error = at(120), "process \"/bin/sh -c make\" did not complete successfully: exit code: 2"
		put(progress.Status{Vertexes: []progress.Vertex{runV}})
		fmt.Fprint(w, "Dockerfile:2\n--------------------\n   1 |     COPY a /a\n   2 | >>> RUN make\n--------------------\nERROR: failed to build: failed to solve: make failed\n")
		return &command.ExitError{Path: "buildx", Code: f.exitCode}
	}
	runV.Completed = at(120)
	put(progress.Status{Vertexes: []progress.Vertex{runV}})
	return nil
}

func (f *fakeBuildx) builds() int {
	n := 0
	for _, c := range f.calls {
		if slices.Contains(c, "build") {
			n++
		}
	}
	return n
}

type result struct {
	dir     string // the run's working directory
	code    int
	stdout  string
	stderr  string
	outputs map[string]string
	summary string
}

// runApp runs the command in GitHub Actions mode with the given inputs.
func runApp(t *testing.T, f *fakeBuildx, inputs map[string]string, path map[string]bool, args ...string) result {
	t.Helper()
	dir := t.TempDir()
	ctxDir := filepath.Join(dir, "ctx")
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		t.Fatal(err)
	}
	df := f.dockerfile
	if df == "" {
		df = "FROM scratch\n"
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
		"INPUT_CONTEXT":       "ctx",
	}
	for k, v := range inputs {
		env["INPUT_"+strings.ToUpper(k)] = v
	}
	if path == nil {
		path = map[string]bool{"docker": true, fakePlugin: true}
	}
	var stdout, stderr strings.Builder
	e := Env{
		Getenv:  func(k string) string { return env[k] },
		Environ: []string{"PATH=/nowhere"},
		Dir:     dir,
		Stdout:  &stdout,
		Stderr:  &stderr,
		Exec:    f.exec,
		LookPath: func(p string) (string, error) {
			if path[p] {
				if filepath.IsAbs(p) {
					return p, nil
				}
				return "/fake/bin/" + p, nil
			}
			return "", fmt.Errorf("%s: not found", p)
		},
		VerifyOptions: []verify.Option{verify.WithKeychain(authn.NewMultiKeychain())},
	}
	r := result{dir: dir, code: Main(context.Background(), append([]string{"build"}, args...), e), stdout: stdout.String(), stderr: stderr.String()}
	outputs, err := report.ReadFileCommands(env["GITHUB_OUTPUT"])
	if err != nil {
		t.Fatalf("GITHUB_OUTPUT: %v", err)
	}
	r.outputs = outputs
	if b, err := os.ReadFile(env["GITHUB_STEP_SUMMARY"]); err == nil {
		r.summary = string(b)
	}
	return r
}

func TestBuildPushVerify(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	f := &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 3, registrytest.Valid)}
	r := runApp(t, f, map[string]string{"tags": reg + "/app:main", "push": "true"}, nil)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r.outputs["cache-verified"] != "true" {
		t.Errorf("cache-verified = %q", r.outputs["cache-verified"])
	}
	if r.outputs["imageid"] != "sha256:feedface" || !strings.HasPrefix(r.outputs["digest"], "sha256:") {
		t.Errorf("outputs = %q", r.outputs)
	}
	var meta map[string]any
	if err := json.Unmarshal([]byte(r.outputs["metadata"]), &meta); err != nil || meta["containerimage.digest"] != r.outputs["digest"] {
		t.Errorf("metadata output %q: %v", r.outputs["metadata"], err)
	}
	var rep struct {
		Verified string `json:"verified"`
		Report   struct {
			Platforms []struct {
				Platform      string `json:"platform"`
				LayersCovered int    `json:"layersCovered"`
				LayersTotal   int    `json:"layersTotal"`
			} `json:"platforms"`
		} `json:"report"`
		Build struct {
			CachedSteps, TotalSteps int
			Steps                   []struct{ Text, State string }
		} `json:"build"`
	}
	if err := json.Unmarshal([]byte(r.outputs["cache-report"]), &rep); err != nil {
		t.Fatalf("cache-report %q: %v", r.outputs["cache-report"], err)
	}
	if rep.Verified != "true" || len(rep.Report.Platforms) != 1 || rep.Report.Platforms[0].LayersCovered != 3 || rep.Report.Platforms[0].LayersTotal != 3 {
		t.Errorf("cache-report = %s", r.outputs["cache-report"])
	}
	if rep.Build.TotalSteps != 2 || rep.Build.CachedSteps != 1 || len(rep.Build.Steps) != 2 || rep.Build.Steps[1].State != "ran" {
		t.Errorf("cache-report build = %+v", rep.Build)
	}
	if r.outputs["cached-steps"] != "1" || r.outputs["total-steps"] != "2" || r.outputs["cache-hit"] != "50" || r.outputs["uncached-seconds"] != "0.1" {
		t.Errorf("step outputs = %q", r.outputs)
	}
	for _, want := range []string{"::group::inline-cache: plan", "inline cache: VERIFIED", "linux/amd64", "3/3",
		"build steps: 1 of 2 Dockerfile steps cached (cache hit 50%), 0.1s in steps that ran",
		"    0.1s  ran    [2/2] RUN make",
		// the live log, drawn from rawjson as buildx's plain output
		"#2 [2/2] RUN make", "#2 DONE 0.1s",
		"::warning file=ctx/Dockerfile,line=3,title=Build check::JSONArgsRecommended"} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("log lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.summary, "| linux/amd64 | 4 | 3 | 3/3 |") {
		t.Errorf("summary = %q", r.summary)
	}
	// The build imports the cache of the tag it pushes.
	if b := f.calls[len(f.calls)-1]; !slices.Contains(b, "type=registry,ref="+reg+"/app:main") || !slices.Contains(b, "type=inline") {
		t.Errorf("build args = %q", b)
	}
}

func TestVerifyStrictAndWarn(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	img := registrytest.Image(t, "linux/amd64", 2, registrytest.None)

	r := runApp(t, &fakeBuildx{t: t, image: img}, map[string]string{"tags": reg + "/app:main", "push": "true"}, nil)
	if r.code != ExitFailed {
		t.Errorf("strict: exit %d, want %d", r.code, ExitFailed)
	}
	if r.outputs["cache-verified"] != "false" || !strings.Contains(r.stdout, "::error title=Inline cache not verified::inline cache not verified: linux/amd64: image config has no moby.buildkit.cache.v0") {
		t.Errorf("strict: outputs %q log:\n%s", r.outputs, r.stdout)
	}

	r = runApp(t, &fakeBuildx{t: t, image: img}, map[string]string{"tags": reg + "/app:main", "push": "true", "verify": "warn"}, nil)
	if r.code != 0 || r.outputs["cache-verified"] != "false" || !strings.Contains(r.stdout, "::warning title=Inline cache not verified::inline cache not verified") {
		t.Errorf("warn: exit %d outputs %q log:\n%s", r.code, r.outputs, r.stdout)
	}
}

func TestNothingPushedIsSkipped(t *testing.T) {
	t.Parallel()
	f := &fakeBuildx{t: t}
	r := runApp(t, f, map[string]string{"tags": "app:dev", "load": "true"}, nil)
	if r.code != 0 || r.outputs["cache-verified"] != "skipped" || !strings.Contains(r.stdout, "nothing was pushed") {
		t.Errorf("exit %d outputs %q\n%s", r.code, r.outputs, r.stdout)
	}
}

func TestBadInputRunsNothing(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in    map[string]string
		wrong string
	}{
		{map[string]string{"tags": "Bad Tag", "push": "true"}, "tags"},
		{map[string]string{"cache-method": "sometimes"}, "cache-method"},
		{map[string]string{"context": "does-not-exist"}, "context"},
		{map[string]string{"push": "yes"}, "push"},
		{map[string]string{"build-args": "BUILDKIT_INLINE_CACHE=0"}, "build-args"},
	} {
		f := &fakeBuildx{t: t}
		r := runApp(t, f, tt.in, nil)
		if r.code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", tt.in, r.code, ExitUsage)
		}
		if f.builds() != 0 {
			t.Errorf("%v: ran %q before rejecting the input", tt.in, f.calls)
		}
		if !strings.Contains(r.stdout, fmt.Sprintf("::error title=Invalid input::input %q", tt.wrong)) {
			t.Errorf("%v: no error naming input %q:\n%s", tt.in, tt.wrong, r.stdout)
		}
	}
}

func TestBuildFailureShowsTail(t *testing.T) {
	t.Parallel()
	f := &fakeBuildx{t: t, exitCode: 1}
	r := runApp(t, f, map[string]string{"tags": "r.example/app:1"}, nil)
	if r.code != ExitFailed {
		t.Errorf("exit %d", r.code)
	}
	for _, want := range []string{
		"::error title=Build failed::build failed",
		"failed step: [2/2] RUN make",
		"ERROR: failed to build: failed to solve: make failed",
		// the failed step on its Dockerfile line, with its last log lines
		"::error file=ctx/Dockerfile,line=2,title=Build step failed%3A [2/2] RUN make::process \"/bin/sh -c make\" did not complete successfully: exit code: 2%0Alast lines of the step:%0Acc -o app main.c",
	} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("log lacks %q:\n%s\n%s", want, r.stdout, r.stderr)
		}
	}
	if r.outputs["cache-verified"] != "false" {
		t.Errorf("outputs = %q", r.outputs)
	}
}

func TestStandaloneBuildx(t *testing.T) {
	t.Parallel()
	f := &fakeBuildx{t: t}
	r := runApp(t, f, nil, map[string]bool{"buildx": true})
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if last := f.calls[len(f.calls)-1]; last[0] != "buildx" || last[1] != "build" {
		t.Errorf("build ran as %q", last)
	}

	f = &fakeBuildx{t: t}
	r = runApp(t, f, nil, map[string]bool{})
	if r.code != ExitFailed || !strings.Contains(r.stdout, "neither buildx nor docker found") || f.builds() != 0 {
		t.Errorf("no buildx: exit %d\n%s", r.code, r.stdout)
	}
}

func TestFlagsOutsideGitHub(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	f := &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	e := Env{
		Getenv:        func(string) string { return "" },
		Dir:           dir,
		Stdout:        &out,
		Stderr:        io.Discard,
		Exec:          f.exec,
		LookPath:      func(p string) (string, error) { return "/usr/bin/" + p, nil },
		VerifyOptions: []verify.Option{verify.WithKeychain(authn.NewMultiKeychain())},
	}
	code := Main(context.Background(), []string{"build", "--tag", reg + "/app:1", "--push", "."}, e)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
	if strings.Contains(out.String(), "::") {
		t.Errorf("workflow commands printed outside GitHub:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "inline cache: VERIFIED") {
		t.Errorf("log:\n%s", out.String())
	}
}

func TestVerifyCommand(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	good := registrytest.Push(t, reg+"/app:good", registrytest.Image(t, "linux/amd64", 2, registrytest.Valid))
	bad := registrytest.Push(t, reg+"/app:bad", registrytest.Image(t, "linux/amd64", 2, registrytest.None))
	verifyCmd := func(args ...string) (int, string) {
		var out strings.Builder
		e := Env{
			Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out,
			Exec:          (&fakeBuildx{t: t}).exec,
			VerifyOptions: []verify.Option{verify.WithKeychain(authn.NewMultiKeychain())},
		}
		return Main(context.Background(), append([]string{"verify"}, args...), e), out.String()
	}
	if code, out := verifyCmd(good); code != 0 || !strings.Contains(out, "VERIFIED") {
		t.Errorf("good: %d\n%s", code, out)
	}
	if code, out := verifyCmd(good, bad); code != ExitFailed || !strings.Contains(out, "1 of 2 images lack valid inline cache") {
		t.Errorf("good+bad: %d\n%s", code, out)
	}
	if code, out := verifyCmd("--verify", "warn", bad); code != 0 || !strings.Contains(out, "warning:") {
		t.Errorf("warn: %d\n%s", code, out)
	}
	if code, out := verifyCmd("--json", good); code != 0 || !strings.Contains(out, `"verified": true`) {
		t.Errorf("json: %d\n%s", code, out)
	}
	if code, _ := verifyCmd(); code != ExitUsage {
		t.Errorf("no refs: %d", code)
	}
	if code, _ := verifyCmd("Not A Ref"); code != ExitUsage {
		t.Errorf("bad ref: %d", code)
	}
}

// TestProgressFormats: buildx 0.12 and later build with --progress
// rawjson, whose raw stream the progress-file input keeps byte for byte;
// an older buildx with plain, read into the same counts.
func TestProgressFormats(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ version, progress string }{{"v0.12.0", "rawjson"}, {"v0.11.2", "plain"}} {
		t.Run(tt.version, func(t *testing.T) {
			t.Parallel()
			f := &fakeBuildx{t: t, version: tt.version}
			r := runApp(t, f, map[string]string{"tags": "r.example/app:1", "progress-file": "progress.out"}, nil)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stdout)
			}
			if b := f.calls[len(f.calls)-1]; b[len(b)-3] != "--progress" || b[len(b)-2] != tt.progress {
				t.Errorf("build args = %q, want --progress %s", b, tt.progress)
			}
			if r.outputs["cached-steps"] != "1" || r.outputs["total-steps"] != "2" || r.outputs["cache-hit"] != "50" {
				t.Errorf("outputs = %q", r.outputs)
			}
			raw, err := os.ReadFile(filepath.Join(r.dir, "progress.out"))
			if err != nil {
				t.Fatal(err)
			}
			first := "{"
			if tt.progress == "plain" {
				first = "#5 [1/2] COPY a /a\n"
			}
			if !strings.HasPrefix(string(raw), first) || !strings.Contains(r.stderr, "#") {
				t.Errorf("progress file = %q, live log = %q", raw, r.stderr)
			}
		})
	}
}

// TestProgressFileUnwritable fails before the build, naming the input.
func TestProgressFileUnwritable(t *testing.T) {
	t.Parallel()
	f := &fakeBuildx{t: t}
	r := runApp(t, f, map[string]string{"tags": "r.example/app:1", "progress-file": "ctx"}, nil)
	if r.code != ExitUsage || f.builds() != 0 || !strings.Contains(r.stdout, `::error title=Invalid input::input "progress-file"`) {
		t.Errorf("exit %d, %d builds:\n%s", r.code, f.builds(), r.stdout)
	}
}

// In a remote context the file input is a path inside that context, not on
// the runner's disk: a build check's annotation names the file BuildKit
// reports rather than a local path, and no local file of that name is read.
func TestRemoteContextAnnotatesNoLocalFile(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	f := &fakeBuildx{t: t, image: registrytest.Image(t, "linux/amd64", 1, registrytest.Valid)}
	r := runApp(t, f, map[string]string{
		"tags": reg + "/app:main", "push": "true",
		"context": "https://github.com/acme/app.git#main", "file": "ctx/Dockerfile",
	}, nil)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if want := "::warning file=Dockerfile,line=3,title=Build check::"; !strings.Contains(r.stdout+r.stderr, want) {
		t.Errorf("log lacks %q:\n%s", want, r.stdout)
	}
}
