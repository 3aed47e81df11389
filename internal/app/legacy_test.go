package app

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/inlinecache/action/internal/command"
	"github.com/inlinecache/action/internal/registrytest"
)

// fakeDocker is a strict docker CLI 20.10 without buildx: "buildx" is not a
// command, "version" reports client and engine, "build" must carry
// DOCKER_BUILDKIT=1 and the inline-cache build-arg and writes the image ID,
// "push" pushes image and prints the digest as docker does.
type fakeDocker struct {
	t      *testing.T
	image  v1.Image
	client string // client version; default 20.10.24+dfsg1
	built  []string
}

func (f *fakeDocker) exec(c command.Cmd, args []string) error {
	switch {
	case slices.Equal(args, []string{"docker", "buildx", "version"}):
		fmt.Fprintln(c.Stderr, "docker: 'buildx' is not a docker command.")
		return &command.ExitError{Path: c.Path, Code: 1}
	case slices.Equal(args, []string{"docker", "version", "--format", "{{json .}}"}):
		client := f.client
		if client == "" {
			client = "20.10.24+dfsg1"
		}
		fmt.Fprintf(c.Stdout, `{"Client":{"Version":%q},"Server":{"Version":"20.10.24+dfsg1"}}`+"\n", client)
		return nil
	case len(args) > 1 && args[1] == "build":
		if !slices.Contains(c.Env, "DOCKER_BUILDKIT=1") {
			f.t.Errorf("docker build without DOCKER_BUILDKIT=1")
		}
		if !strings.Contains(strings.Join(args, " "), "--build-arg BUILDKIT_INLINE_CACHE=1") {
			f.t.Errorf("docker build without the inline cache build-arg: %q", args)
		}
		i := slices.Index(args, "--iidfile")
		if i < 0 {
			f.t.Fatalf("no --iidfile: %q", args)
		}
		f.built = append(f.built, args[len(args)-1])
		fmt.Fprintln(c.Stderr, "#4 [1/2] COPY a /a")
		fmt.Fprintln(c.Stderr, "#4 CACHED")
		fmt.Fprintln(c.Stderr, "#5 [2/2] RUN make")
		fmt.Fprintln(c.Stderr, "#5 DONE 0.1s")
		return os.WriteFile(args[i+1], []byte("sha256:0ddba11"), 0o644)
	case len(args) == 3 && args[1] == "push":
		registrytest.Push(f.t, args[2], f.image)
		d, _ := f.image.Digest()
		fmt.Fprintf(c.Stdout, "The push refers to repository [%s]\nmain: digest: %s size: 527\n", args[2], d)
		return nil
	}
	f.t.Errorf("unexpected command %q", args)
	return &command.ExitError{Path: c.Path, Code: 127}
}

func TestLegacyBuildPushVerify(t *testing.T) {
	t.Parallel()
	reg := registrytest.Serve(t)
	d := &fakeDocker{t: t, image: registrytest.Image(t, "linux/amd64", 3, registrytest.Valid)}
	f := &fakeBuildx{t: t, docker: d}
	r := runApp(t, f, map[string]string{"tags": reg + "/app:main," + reg + "/app:v1", "push": "true"}, map[string]bool{"docker": true})
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	want := [][]string{
		{"docker", "buildx", "version"},
		{"docker", "version", "--format", "{{json .}}"},
	}
	// The two detection calls run side by side, in either order.
	detect := f.calls[:min(2, len(f.calls))]
	if len(f.calls) != 5 || !slices.ContainsFunc(detect, func(c []string) bool { return slices.Equal(c, want[0]) }) ||
		!slices.ContainsFunc(detect, func(c []string) bool { return slices.Equal(c, want[1]) }) ||
		f.calls[3][1] != "push" || f.calls[4][1] != "push" || f.calls[3][2] != reg+"/app:main" || f.calls[4][2] != reg+"/app:v1" {
		t.Errorf("calls = %q", f.calls)
	}
	digest, _ := d.image.Digest()
	if r.outputs["cache-verified"] != "true" || r.outputs["digest"] != digest.String() || r.outputs["imageid"] != "sha256:0ddba11" {
		t.Errorf("outputs = %q\n%s", r.outputs, r.stdout)
	}
	for _, w := range []string{
		"builder: docker build (no buildx): docker CLI 20.10.24+dfsg1, engine 20.10.24+dfsg1",
		"::warning::cache-method auto: buildx is not installed",
		"command: DOCKER_BUILDKIT=1 /fake/bin/docker build --build-arg BUILDKIT_INLINE_CACHE=1",
		"inline cache: VERIFIED",
		"build steps: 1 of 2 Dockerfile steps cached (cache hit 50%), 0.1s in steps that ran",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("log lacks %q:\n%s", w, r.stdout)
		}
	}
}

func TestLegacyRefusedBeforeBuilding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		client string
		inputs map[string]string
		code   int
		says   string
	}{
		{"docker 23+ without buildx", "28.2.2", map[string]string{}, ExitFailed, "docker CLI 28.2.2 builds with BuildKit only through the buildx plugin"},
		{"two platforms", "", map[string]string{"platforms": "linux/amd64,linux/arm64"}, ExitUsage, `input "platforms": buildx is not installed`},
		{"registry cache export", "", map[string]string{"cache-to": "type=registry,ref=r.example/c:1"}, ExitUsage, `input "cache-to": buildx is not installed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDocker{t: t, client: tt.client}
			f := &fakeBuildx{t: t, docker: d}
			r := runApp(t, f, tt.inputs, map[string]bool{"docker": true})
			if r.code != tt.code || !strings.Contains(r.stdout, tt.says) {
				t.Errorf("exit %d, want %d with %q:\n%s", r.code, tt.code, tt.says, r.stdout)
			}
			if len(d.built) != 0 {
				t.Errorf("built %q", d.built)
			}
		})
	}
}

func TestDockerDriverRefusal(t *testing.T) {
	t.Parallel()
	f := &fakeBuildx{t: t, inspect: "inspect-docker.txt"}
	r := runApp(t, f, map[string]string{"platforms": "linux/amd64,linux/386"}, nil)
	if r.code != ExitUsage || !strings.Contains(r.stdout, `input "platforms": builder "inline-cache-dockerd" (driver docker, engine 20.10.24+dfsg1, classic image store) cannot build several platforms`) {
		t.Errorf("exit %d:\n%s", r.code, r.stdout)
	}
	if f.builds() != 0 {
		t.Errorf("a build ran")
	}
}

func TestLoadOnlySkipReason(t *testing.T) {
	t.Parallel()
	f := &fakeBuildx{t: t, inspect: "inspect-docker.txt"}
	r := runApp(t, f, map[string]string{"tags": "app:pr", "load": "true"}, nil)
	if r.code != 0 || r.outputs["cache-verified"] != "skipped" || !strings.Contains(r.stdout, "nothing was pushed (load only") {
		t.Errorf("exit %d outputs %q:\n%s", r.code, r.outputs, r.stdout)
	}
}

func TestLocallyBuiltBuildKitIsNamed(t *testing.T) {
	t.Parallel()
	f := &fakeBuildx{t: t, inspect: "inspect-remote-unknown-version.txt"}
	r := runApp(t, f, nil, nil)
	if r.code != 0 || !strings.Contains(r.stdout, `builder "local", driver remote, nodes: local0 BuildKit v0.0.0+unknown (a local build: its features are unknown)`) {
		t.Errorf("exit %d:\n%s", r.code, r.stdout)
	}
}
