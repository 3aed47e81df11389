package builder

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/inlinecache/action/internal/command"
)

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The testdata files are real "buildx inspect" outputs (buildx v0.38.2),
// captured from the test environment's builders; see the README there.
func TestParseInspect(t *testing.T) {
	t.Parallel()
	amd64 := []string{"linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/amd64/v4"}
	tests := []struct {
		file   string
		name   string
		driver string
		errMsg string
		nodes  []Node
	}{
		{file: "inspect-remote.txt", name: "inline-cache-test", driver: "remote", nodes: []Node{
			{Name: "inline-cache-test0", Status: "running", BuildKit: "v0.34.2", Platforms: amd64},
		}},
		{file: "inspect-remote-nodebug.txt", name: "inline-cache-test", driver: "remote", nodes: []Node{
			{Name: "inline-cache-test0", Status: "running", BuildKit: "v0.34.2", Platforms: amd64},
		}},
		{file: "inspect-remote-unknown-version.txt", name: "local", driver: "remote", nodes: []Node{
			{Name: "local0", Endpoint: "unix:///tmp/i4u/bk.sock", Status: "running", BuildKit: "v0.0.0+unknown", Platforms: amd64},
		}},
		{file: "inspect-docker.txt", name: "inline-cache-dockerd", driver: "docker", nodes: []Node{
			{Name: "inline-cache-dockerd", Endpoint: "inline-cache-dockerd", Status: "running", BuildKit: "v0.8+unknown", Platforms: []string{"linux/amd64"}},
		}},
		{file: "inspect-multinode.txt", name: "multi", driver: "remote", nodes: []Node{
			{Name: "multi-amd64", Status: "running", BuildKit: "v0.34.2", Platforms: amd64},
			{Name: "multi-386", Status: "running", BuildKit: "v0.34.2", Platforms: append([]string{"linux/386"}, amd64...)},
		}},
		{file: "inspect-multinode-node-down.txt", name: "multi", driver: "remote", nodes: []Node{
			{Name: "multi-amd64", Status: "running", BuildKit: "v0.34.2", Platforms: amd64},
			{Name: "multi-386", Status: "inactive"},
		}},
		{file: "inspect-docker-no-daemon.txt", name: "default", driver: "",
			errMsg: "failed to connect to the docker API at unix:///nonexistent.sock; check if the path is correct and if the daemon is running: dial unix /nonexistent.sock: connect: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			in, err := ParseInspect(testdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if in.Name != tt.name || in.Driver != tt.driver || in.Error != tt.errMsg {
				t.Errorf("builder = %q driver %q error %q, want %q %q %q", in.Name, in.Driver, in.Error, tt.name, tt.driver, tt.errMsg)
			}
			if len(in.Nodes) != len(tt.nodes) {
				t.Fatalf("nodes = %+v, want %d", in.Nodes, len(tt.nodes))
			}
			for i, want := range tt.nodes {
				got := in.Nodes[i]
				if got.Name != want.Name || got.Status != want.Status || got.BuildKit != want.BuildKit || !slices.Equal(got.Platforms, want.Platforms) {
					t.Errorf("node %d = %+v, want %+v", i, got, want)
				}
				if want.Endpoint != "" && got.Endpoint != want.Endpoint {
					t.Errorf("node %d endpoint = %q, want %q", i, got.Endpoint, want.Endpoint)
				}
				if !strings.HasPrefix(got.Endpoint, "unix://") && tt.driver == "remote" {
					t.Errorf("node %d endpoint = %q", i, got.Endpoint)
				}
			}
		})
	}
}

func TestFeatures(t *testing.T) {
	t.Parallel()
	all := []string{FeatureMultiPlatform, FeatureCacheExport, FeatureOCIExporter}
	docker, _ := ParseInspect(testdata(t, "inspect-docker.txt"))
	for _, f := range all {
		if v, known := docker.Supports(f); !known || v || docker.Has(f) {
			t.Errorf("docker driver feature %q = %v (known %v), want known false", f, v, known)
		}
	}
	multi, _ := ParseInspect(testdata(t, "inspect-multinode.txt"))
	for _, f := range all {
		if v, known := multi.Supports(f); !known || !v || !multi.Has(f) {
			t.Errorf("remote multi-node feature %q = %v (known %v), want true", f, v, known)
		}
	}
	// Without debug output buildx prints no features: they are unknown,
	// not false, and the driver's name decides.
	plain, _ := ParseInspect(testdata(t, "inspect-remote-nodebug.txt"))
	for _, f := range all {
		if _, known := plain.Supports(f); known || !plain.Has(f) {
			t.Errorf("feature %q without debug output: known %v, has %v", f, known, plain.Has(f))
		}
	}
	old := plain
	old.Driver = "docker"
	if old.Has(FeatureCacheExport) {
		t.Errorf("docker driver without printed features has cache export")
	}
}

func TestBuildxVersion(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		"github.com/docker/buildx v0.29.0 abc": true, "github.com/docker/buildx v0.38.2 fake": true,
		"github.com/docker/buildx v0.28.1 abc": false, "buildx": false, "github.com/docker/buildx v1.0.0": true,
	} {
		v, ok := Info{Version: in}.BuildxVersion()
		if got := ok && v.AtLeast(0, 29); got != want {
			t.Errorf("%q: at least 0.29 = %v, want %v", in, got, want)
		}
	}
}

func TestParseInspectRejectsOtherOutput(t *testing.T) {
	t.Parallel()
	for _, out := range []string{"", "ERROR: no builder \"nosuch\" found\n", "github.com/docker/buildx v0.38.2\n"} {
		if _, err := ParseInspect(out); err == nil {
			t.Errorf("ParseInspect(%q) accepted", out)
		}
	}
}

func TestParseVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Version
	}{
		{"v0.34.2", Version{0, 34, 2, false}},
		{"v0.8+unknown", Version{0, 8, 0, false}},
		{"v0.0.0+unknown", Version{Unknown: true}},
		{"0.13.0-rc1", Version{0, 13, 0, false}},
		{" v1.2.3 ", Version{1, 2, 3, false}},
	}
	for _, tt := range tests {
		got, err := ParseVersion(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseVersion(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "unknown", "v1", "v1.x.2", "v1.2.3.4"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted", bad)
		}
	}
}

// fakeRun answers exactly the calls listed, each once, in any order (some
// run side by side); anything else fails the test.
type fakeRun struct {
	t     *testing.T
	mu    sync.Mutex
	calls []call
	used  []bool
}

type call struct {
	args   []string // program base name first
	env    string   // an entry the environment must hold, if set
	stdout string
	stderr string
	code   int
	// start, if set, is the error of a program that could not be started.
	start error
}

func (f *fakeRun) run(_ context.Context, c command.Cmd) error {
	got := append([]string{filepath.Base(c.Path)}, c.Args...)
	f.mu.Lock()
	if f.used == nil {
		f.used = make([]bool, len(f.calls))
	}
	i := slices.IndexFunc(f.calls, func(w call) bool { return slices.Equal(w.args, got) })
	for i >= 0 && f.used[i] {
		j := slices.IndexFunc(f.calls[i+1:], func(w call) bool { return slices.Equal(w.args, got) })
		if j < 0 {
			i = -1
			break
		}
		i += 1 + j
	}
	if i < 0 {
		f.mu.Unlock()
		f.t.Errorf("unexpected call %q", got)
		return &command.ExitError{Path: c.Path, Code: 127}
	}
	f.used[i] = true
	want := f.calls[i]
	f.mu.Unlock()
	if want.env != "" && !slices.Contains(c.Env, want.env) {
		f.t.Errorf("call %q: environment lacks %s: %q", got, want.env, c.Env)
	}
	if want.start != nil {
		return fmt.Errorf("cannot run %s: %w", c.Path, want.start)
	}
	fmt.Fprint(c.Stdout, want.stdout)
	fmt.Fprint(c.Stderr, want.stderr)
	if want.code != 0 {
		return &command.ExitError{Path: c.Path, Code: want.code}
	}
	return nil
}

func (f *fakeRun) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, c := range f.calls {
		if f.used == nil || !f.used[i] {
			f.t.Errorf("call %q not made", c.args)
		}
	}
}

// onPath finds programs on PATH (as /bin/NAME) and the absolute paths
// listed.
func onPath(progs ...string) LookPath {
	return func(p string) (string, error) {
		if slices.Contains(progs, p) {
			if filepath.IsAbs(p) {
				return p, nil
			}
			return "/bin/" + p, nil
		}
		return "", errors.New(p + ": not found")
	}
}

const (
	bxVersion     = "github.com/docker/buildx v0.38.2 \n"
	docker2010    = `{"Client":{"Version":"20.10.24+dfsg1","ApiVersion":"1.41"},"Server":{"Version":"20.10.24+dfsg1"}}` + "\n"
	docker28      = `{"Client":{"Version":"28.2.2","ApiVersion":"1.50"},"Server":{"Version":"20.10.24+dfsg1"}}` + "\n"
	dockerNoSrv   = `{"Client":{"Version":"20.10.24+dfsg1","ApiVersion":"1.41"},"Server":null}` + "\n"
	noDaemonError = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"
	sysPlugin     = "/usr/libexec/docker/cli-plugins/docker-buildx"
	userPlugin    = "/home/ci/.docker/cli-plugins/docker-buildx"
)

func TestDetect(t *testing.T) {
	t.Parallel()
	inspect := func(args []string, file string) call {
		return call{args: args, env: "DEBUG=1", stdout: testdata(t, file)}
	}
	versionFmt := []string{"docker", "version", "--format", "{{json .}}"}
	infoOf := func(context string) []string {
		return []string{"docker", "--context", context, "info", "--format", "{{json .}}"}
	}
	embedded := func(p string) (string, bool) {
		if p == sysPlugin {
			return "github.com/docker/buildx v0.38.2", true
		}
		return "", false
	}
	tests := []struct {
		name    string
		path    LookPath
		env     []string
		version func(string) (string, bool)
		builder string
		calls   []call
		kind    Kind
		command []string
		errLike string
		engine  Engine
	}{
		{name: "plugin run directly, version from the binary: one process", path: onPath("docker", sysPlugin), version: embedded,
			calls: []call{
				inspect([]string{"docker-buildx", "inspect"}, "inspect-remote.txt"),
			},
			kind: Plugin, command: []string{sysPlugin}},
		{name: "plugin run directly, version asked beside inspect", path: onPath("docker", "buildx", sysPlugin),
			calls: []call{
				{args: []string{"docker-buildx", "version"}, stdout: bxVersion},
				inspect([]string{"docker-buildx", "inspect"}, "inspect-remote.txt"),
			},
			kind: Plugin, command: []string{sysPlugin}},
		{name: "the user's plugin before the system's", path: onPath("docker", sysPlugin, userPlugin), env: []string{"HOME=/home/ci"},
			calls: []call{
				{args: []string{"docker-buildx", "version"}, stdout: bxVersion},
				inspect([]string{"docker-buildx", "inspect"}, "inspect-remote.txt"),
			},
			kind: Plugin, command: []string{userPlugin}},
		{name: "DOCKER_CONFIG's plugins, not HOME's", path: onPath("docker", "/cfg/cli-plugins/docker-buildx", userPlugin), env: []string{"HOME=/home/ci", "DOCKER_CONFIG=/cfg"},
			calls: []call{
				{args: []string{"docker-buildx", "version"}, stdout: bxVersion},
				inspect([]string{"docker-buildx", "inspect"}, "inspect-remote.txt"),
			},
			kind: Plugin, command: []string{"/cfg/cli-plugins/docker-buildx"}},
		{name: "plugin, named docker-driver builder: its engine from docker info", path: onPath("docker", sysPlugin), builder: "inline-cache-dockerd", version: embedded,
			calls: []call{
				inspect([]string{"docker-buildx", "inspect", "inline-cache-dockerd"}, "inspect-docker.txt"),
				{args: infoOf("inline-cache-dockerd"), stdout: testdata(t, "info-dockerd-20.10.json")},
			},
			kind: Plugin, command: []string{sysPlugin}, engine: Engine{Version: "20.10.24+dfsg1", Store: StoreClassic, Driver: "overlay2"}},
		{name: "docker driver on dockerd 28, classic store", path: onPath("docker", sysPlugin), version: embedded,
			calls: []call{
				inspect([]string{"docker-buildx", "inspect"}, "inspect-docker-28-classic.txt"),
				{args: infoOf("inline-cache-dockerd28-classic"), stdout: testdata(t, "info-dockerd-28-classic.json")},
			},
			kind: Plugin, command: []string{sysPlugin}, engine: Engine{Version: "28.5.2", Store: StoreClassic, Driver: "overlay2"}},
		{name: "docker driver on dockerd 28, containerd store", path: onPath("docker", sysPlugin), version: embedded,
			calls: []call{
				inspect([]string{"docker-buildx", "inspect"}, "inspect-docker-28-containerd.txt"),
				{args: infoOf("inline-cache-dockerd28-containerd"), stdout: testdata(t, "info-dockerd-28-containerd.json")},
			},
			kind: Plugin, command: []string{sysPlugin}, engine: Engine{Version: "28.5.2", Store: StoreContainerd, Driver: "overlayfs"}},
		{name: "docker driver, docker info fails: the store from the driver's features", path: onPath("docker", sysPlugin), version: embedded,
			calls: []call{
				inspect([]string{"docker-buildx", "inspect"}, "inspect-docker-28-containerd.txt"),
				{args: infoOf("inline-cache-dockerd28-containerd"), stderr: "permission denied\n", code: 1},
			},
			kind: Plugin, command: []string{sysPlugin}, engine: Engine{Store: StoreContainerd}},
		{name: "docker driver, no docker CLI: the store from the driver's features", path: onPath("buildx"),
			calls: []call{
				{args: []string{"buildx", "version"}, stdout: bxVersion},
				inspect([]string{"buildx", "inspect"}, "inspect-docker-28-classic.txt"),
			},
			kind: Standalone, command: []string{"/bin/buildx"}, engine: Engine{Store: StoreClassic}},
		{name: "under a docker CLI plugin: through the CLI", path: onPath("docker", sysPlugin), env: []string{"DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND=docker"},
			calls: []call{
				{args: []string{"docker", "buildx", "version"}, stdout: bxVersion},
				{args: versionFmt, stdout: docker2010},
				inspect([]string{"docker", "buildx", "inspect"}, "inspect-remote.txt"),
			},
			kind: Plugin, command: []string{"/bin/docker", "buildx"}},
		{name: "a plugin only the CLI finds", path: onPath("docker"),
			calls: []call{
				{args: []string{"docker", "buildx", "version"}, stdout: bxVersion},
				{args: versionFmt, stdout: docker28},
				inspect([]string{"docker", "buildx", "inspect"}, "inspect-remote.txt"),
			},
			kind: Plugin, command: []string{"/bin/docker", "buildx"}},
		{name: "standalone when there is no plugin", path: onPath("docker", "buildx"),
			calls: []call{
				{args: []string{"buildx", "version"}, stdout: bxVersion},
				inspect([]string{"buildx", "inspect"}, "inspect-multinode.txt"),
			},
			kind: Standalone, command: []string{"/bin/buildx"}},
		{name: "standalone when the plugin does not run", path: onPath("docker", "buildx", sysPlugin),
			calls: []call{
				{args: []string{"docker-buildx", "version"}, start: errors.New("exec format error")},
				{args: []string{"docker-buildx", "inspect"}, start: errors.New("exec format error")},
				{args: []string{"buildx", "version"}, stdout: bxVersion},
				inspect([]string{"buildx", "inspect"}, "inspect-multinode.txt"),
			},
			kind: Standalone, command: []string{"/bin/buildx"}},
		{name: "standalone when the plugin with a known version does not run", path: onPath("docker", "buildx", sysPlugin), version: embedded,
			calls: []call{
				{args: []string{"docker-buildx", "inspect"}, start: errors.New("exec format error")},
				{args: []string{"buildx", "version"}, stdout: bxVersion},
				inspect([]string{"buildx", "inspect"}, "inspect-multinode.txt"),
			},
			kind: Standalone, command: []string{"/bin/buildx"}},
		{name: "no buildx: docker build on a 20.10 engine", path: onPath("docker"),
			calls: []call{
				{args: []string{"docker", "buildx", "version"}, stderr: "docker: 'buildx' is not a docker command.\n", code: 1},
				{args: versionFmt, stdout: docker2010},
			},
			kind: Legacy},
		{name: "no buildx, docker 23+ CLI", path: onPath("docker"),
			calls: []call{
				{args: []string{"docker", "buildx", "version"}, stderr: "docker: unknown command: docker buildx\n", code: 1},
				{args: versionFmt, stdout: docker28},
			},
			errLike: "docker CLI 28.2.2 builds with BuildKit only through the buildx plugin"},
		{name: "no buildx, no daemon", path: onPath("docker"),
			calls: []call{
				{args: []string{"docker", "buildx", "version"}, code: 1},
				{args: versionFmt, stdout: dockerNoSrv, stderr: noDaemonError, code: 1},
			},
			errLike: "no docker daemon answers, so nothing can build: Cannot connect to the Docker daemon at unix:///var/run/docker.sock"},
		{name: "no buildx but a builder asked for", path: onPath("docker"), builder: "ci",
			calls: []call{
				{args: []string{"docker", "buildx", "version"}, code: 1},
			},
			errLike: `builder "ci" was asked for, but buildx is not installed`},
		{name: "docker driver, daemon down", path: onPath("docker", sysPlugin), version: embedded,
			calls: []call{
				inspect([]string{"docker-buildx", "inspect"}, "inspect-docker-no-daemon.txt"),
			},
			errLike: `buildx builder "default" cannot be used: failed to connect to the docker API at unix:///nonexistent.sock`},
		{name: "remote node whose socket is gone", path: onPath("buildx"), builder: "multi",
			calls: []call{
				{args: []string{"buildx", "version"}, stdout: bxVersion},
				inspect([]string{"buildx", "inspect", "multi"}, "inspect-multinode-node-down.txt"),
			},
			errLike: `node multi-386 is inactive: no BuildKit daemon answers at unix:///tmp/`},
		{name: "unknown builder", path: onPath("buildx"), builder: "nosuch",
			calls: []call{
				{args: []string{"buildx", "version"}, stdout: bxVersion},
				{args: []string{"buildx", "inspect", "nosuch"}, env: "DEBUG=1", stderr: "ERROR: no builder \"nosuch\" found\n", code: 1},
			},
			errLike: `cannot inspect buildx builder "nosuch": /bin/buildx exited with status 1: ERROR: no builder "nosuch" found`},
		{name: "a plugin that does not run, and nothing else", path: onPath(sysPlugin, "buildx"),
			calls: []call{
				{args: []string{"buildx", "version"}, stderr: "segfault", code: 139},
				{args: []string{"buildx", "inspect"}, code: 139},
			},
			errLike: "neither buildx nor docker found"},
		{name: "nothing at all", path: onPath(), errLike: "neither buildx nor docker found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeRun{t: t, calls: tt.calls}
			h := Host{LookPath: tt.path, Run: f.run, Env: append([]string{"PATH=/bin"}, tt.env...), BinaryVersion: tt.version}
			info, err := Detect(context.Background(), h, tt.builder)
			f.done()
			if tt.errLike != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errLike) {
					t.Fatalf("err = %v, want one containing %q", err, tt.errLike)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Kind != tt.kind || !slices.Equal(info.Command, tt.command) {
				t.Errorf("kind %q command %q, want %q %q", info.Kind, info.Command, tt.kind, tt.command)
			}
			if tt.kind != Legacy && (info.Version != "github.com/docker/buildx v0.38.2" || info.Inspection.Name == "") {
				t.Errorf("version %q inspection %+v", info.Version, info.Inspection)
			}
			if info.Engine != tt.engine {
				t.Errorf("engine = %+v, want %+v", info.Engine, tt.engine)
			}
			if tt.kind == Legacy && (info.Docker.Path != "/bin/docker" || info.Docker.ClientVersion != "20.10.24+dfsg1" || info.Docker.ServerVersion != "20.10.24+dfsg1") {
				t.Errorf("docker = %+v", info.Docker)
			}
		})
	}
}

// TestPluginCandidates: the docker CLI's order, config's extra directories
// first.
func TestPluginCandidates(t *testing.T) {
	t.Parallel()
	read := func(p string) ([]byte, error) {
		if p == "/cfg/config.json" {
			return []byte(`{"cliPluginsExtraDirs":["/opt/plugins","relative"]}`), nil
		}
		return nil, os.ErrNotExist
	}
	got := pluginCandidates([]string{"HOME=/home/ci", "DOCKER_CONFIG=/cfg"}, read)
	want := []string{"/opt/plugins/docker-buildx", "/cfg/cli-plugins/docker-buildx",
		"/usr/local/lib/docker/cli-plugins/docker-buildx", "/usr/local/libexec/docker/cli-plugins/docker-buildx",
		"/usr/lib/docker/cli-plugins/docker-buildx", sysPlugin}
	if !slices.Equal(got, want) {
		t.Errorf("candidates = %q, want %q", got, want)
	}
	if got := pluginCandidates(nil, read); len(got) != 4 || got[3] != sysPlugin {
		t.Errorf("without HOME or DOCKER_CONFIG: %q", got)
	}
}

func TestVersionFromBuildInfo(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{"v0.38.2": true, "(devel)": false, "v0.0.0-20250101000000-abcdef012345": false, "": false} {
		bi := &buildinfo.BuildInfo{Main: debug.Module{Path: "github.com/docker/buildx", Version: v}}
		got, ok := versionFromBuildInfo(bi)
		if ok != want || ok && got != "github.com/docker/buildx "+v {
			t.Errorf("%q: %q %v, want %v", v, got, ok, want)
		}
	}
	if _, ok := versionFromBuildInfo(&buildinfo.BuildInfo{Main: debug.Module{Path: "example.com/other", Version: "v1.2.3"}}); ok {
		t.Error("another program's version taken for buildx's")
	}
}
