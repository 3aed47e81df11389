//go:build linux

// Package testenv is the project's real test environment: a registry and a
// BuildKit daemon on loopback and unix sockets in a temp dir, driven through
// a buildx remote builder in a private DOCKER_CONFIG. It installs and builds
// what it needs itself (Debian packages as root, BuildKit and buildx from the
// Go module proxy, cached by version), so a fresh machine needs only Go.
package testenv

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Versions of the tools the environment builds.
const (
	BuildKitVersion = "v0.34.2"
	BuildxVersion   = "v0.38.2"
	// DistributionV3Version is the distribution v3 registry, what buildx
	// and build-push-action test against; Debian's docker-registry is 2.8.
	DistributionV3Version = "v3.1.2"
)

// debPackages are installed with apt-get when their program is missing.
var debPackages = map[string]string{
	"runc":            "runc",
	"docker-registry": "docker-registry",
	"busybox":         "busybox-static",
	// The action's entry point is a node script (dist/index.js); npm
	// names the npm registry the real-world Node project's build uses.
	"node": "nodejs",
	"npm":  "npm",
	// Makes the base images' root file systems (images.go).
	"debootstrap": "debootstrap",
	// Docker engine 20.10 with containerd, for the docker-driver and
	// legacy "docker build" tests.
	"dockerd": "docker.io",
}

// Tools are the programs the environment runs.
type Tools struct {
	Buildkitd string
	Buildctl  string
	Buildx    string
	Registry  string
	// RegistryV3 is distribution v3's registry, built from the Go module
	// proxy (StartRegistryV3).
	RegistryV3 string
	Runc       string
	// Busybox is a static busybox, copied into test images for RUN steps.
	Busybox string
	// Node runs the action's entry point.
	Node string
	// Dockerd, Containerd and Docker are Debian's docker.io engine, its
	// containerd and the docker CLI of the same package.
	Dockerd    string
	Containerd string
	Docker     string
	// Act is nektos/act, which runs workflows locally (see act.go).
	Act string
	// CurrentEngine is the docker CLI 29, dockerd 28 and containerd 2
	// built from the Go module proxy (engines.go).
	CurrentEngine Engine
}

// Logf reports progress.
type Logf func(format string, a ...any)

// CacheDir is where built tools are kept, by version.
func CacheDir() (string, error) {
	if d := os.Getenv("INLINE_CACHE_TOOLS"); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache dir: %w", err)
	}
	return filepath.Join(base, "inline-cache", "tools"), nil
}

// EnsureTools finds, installs or builds every tool. The first run on a
// machine takes minutes (two Go builds); later runs find them in the cache.
func EnsureTools(ctx context.Context, logf Logf) (Tools, error) {
	var t Tools
	if err := ensureDebPackages(ctx, logf); err != nil {
		return t, err
	}
	var err error
	if t.Runc, err = lookPath("runc"); err != nil {
		return t, err
	}
	if t.Registry, err = lookPath("docker-registry"); err != nil {
		return t, err
	}
	if t.Busybox, err = staticBusybox(); err != nil {
		return t, err
	}
	if t.Node, err = lookPath("node"); err != nil {
		return t, err
	}
	if t.Dockerd, err = lookPath("dockerd"); err != nil {
		return t, err
	}
	if t.Containerd, err = lookPath("containerd"); err != nil {
		return t, err
	}
	if t.Docker, err = engineCLI(); err != nil {
		return t, err
	}

	cache, err := CacheDir()
	if err != nil {
		return t, err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return t, fmt.Errorf("create tool cache: %w", err)
	}
	// Test packages run in parallel: one builds, the others wait.
	unlock, err := lockFile(filepath.Join(cache, ".lock"))
	if err != nil {
		return t, err
	}
	defer unlock()

	bkDir := filepath.Join(cache, "buildkit-"+BuildKitVersion)
	t.Buildkitd, t.Buildctl = filepath.Join(bkDir, "buildkitd"), filepath.Join(bkDir, "buildctl")
	if !exists(t.Buildkitd) || !exists(t.Buildctl) {
		logf("building buildkitd and buildctl %s from the Go module proxy (a few minutes, once)", BuildKitVersion)
		if err := buildBuildKit(ctx, bkDir); err != nil {
			return t, err
		}
	}
	bxDir := filepath.Join(cache, "buildx-"+BuildxVersion)
	t.Buildx = filepath.Join(bxDir, "buildx")
	if !exists(t.Buildx) {
		logf("building buildx %s from the Go module proxy (a few minutes, once)", BuildxVersion)
		if err := buildBuildx(ctx, bxDir); err != nil {
			return t, err
		}
	}
	if t.Act, err = ensureAct(ctx, cache, logf); err != nil {
		return t, err
	}
	if t.RegistryV3, err = ensureRegistryV3(ctx, cache, logf); err != nil {
		return t, err
	}
	if t.CurrentEngine, err = ensureCurrentEngine(ctx, cache, logf); err != nil {
		return t, err
	}
	return t, nil
}

// ensureRegistryV3 finds or builds distribution v3's registry in the tool
// cache; the caller holds the cache lock.
func ensureRegistryV3(ctx context.Context, cache string, logf Logf) (string, error) {
	dir := filepath.Join(cache, "distribution-"+DistributionV3Version)
	bin := filepath.Join(dir, "registry")
	if exists(bin) {
		return bin, nil
	}
	logf("building distribution %s's registry from the Go module proxy (a few minutes, once)", DistributionV3Version)
	if err := goInstall(ctx, dir, "distribution", DistributionV3Version, nil, "github.com/distribution/distribution/v3/cmd/registry@"+DistributionV3Version); err != nil {
		return "", err
	}
	return bin, nil
}

func ensureDebPackages(ctx context.Context, logf Logf) error {
	var missing []string
	for prog, pkg := range debPackages {
		if _, err := lookPath(prog); err != nil {
			missing = append(missing, pkg)
		} else if prog == "busybox" {
			if _, err := staticBusybox(); err != nil {
				missing = append(missing, pkg)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	cmdline := "apt-get install -y --no-install-recommends " + strings.Join(missing, " ")
	if os.Geteuid() != 0 {
		return fmt.Errorf("missing Debian packages %v: run as root, or install them: %s", missing, cmdline)
	}
	logf("installing Debian packages: %s", strings.Join(missing, " "))
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := runOut(ctx, env, "", "apt-get", "update", "-q"); err != nil {
		return fmt.Errorf("apt-get update: %w\n%s", err, out)
	}
	args := append([]string{"install", "-y", "-q", "--no-install-recommends"}, missing...)
	if out, err := runOut(ctx, env, "", "apt-get", args...); err != nil {
		return fmt.Errorf("%s: %w\n%s", cmdline, err, out)
	}
	// The registry package starts a system service on :5000; the tests run
	// their own on a private port, and nothing should listen on all
	// interfaces.
	_, _ = runOut(ctx, env, "", "service", "docker-registry", "stop")
	// Likewise docker.io may start a system engine; the tests start their
	// own.
	_, _ = runOut(ctx, env, "", "service", "docker", "stop")
	_, _ = runOut(ctx, env, "", "service", "containerd", "stop")
	return nil
}

// engineCLI is the docker CLI of Debian's docker.io package, which matches
// its engine: a newer CLI found first on PATH would need the buildx plugin
// for "docker build" with BuildKit, and the legacy tests run without one.
func engineCLI() (string, error) {
	const p = "/usr/bin/docker"
	if !exists(p) {
		return "", fmt.Errorf("%s (Debian package docker.io) not found", p)
	}
	return p, nil
}

func lookPath(prog string) (string, error) {
	p, err := exec.LookPath(prog)
	if err != nil {
		// Debian keeps runc in /usr/sbin, which a non-login PATH may lack.
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
			if c := filepath.Join(dir, prog); exists(c) {
				return c, nil
			}
		}
		return "", fmt.Errorf("%s not found: %w", prog, err)
	}
	return p, nil
}

// staticBusybox finds a statically linked busybox: a dynamic one would not
// run in a FROM scratch image.
func staticBusybox() (string, error) {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		static := true
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				static = false
			}
		}
		f.Close()
		if static {
			return p, nil
		}
	}
	return "", errors.New("no static busybox found (Debian package busybox-static)")
}

func buildBuildKit(ctx context.Context, out string) error {
	src, err := moduleDir(ctx, "github.com/moby/buildkit@"+BuildKitVersion)
	if err != nil {
		return err
	}
	// The module's go.mod has exclude directives, so "go install" refuses
	// it; building inside a writable copy of the module works.
	work, err := os.MkdirTemp("", "buildkit-src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := copyTree(src, work); err != nil {
		return fmt.Errorf("copy buildkit module: %w", err)
	}
	tmpOut := out + ".tmp"
	os.RemoveAll(tmpOut)
	ldflags := "-X github.com/moby/buildkit/version.Version=" + BuildKitVersion
	if o, err := runOut(ctx, goEnv(), work, "go", "build", "-mod=mod", "-ldflags", ldflags, "-o", tmpOut+"/", "./cmd/buildkitd", "./cmd/buildctl"); err != nil {
		return fmt.Errorf("build buildkit %s: %w\n%s", BuildKitVersion, err, o)
	}
	os.RemoveAll(out)
	return os.Rename(tmpOut, out)
}

func buildBuildx(ctx context.Context, out string) error {
	ldflags := "-X github.com/docker/buildx/version.Version=" + BuildxVersion
	return goInstall(ctx, out, "buildx", BuildxVersion, nil, "-ldflags", ldflags, "github.com/docker/buildx/cmd/buildx@"+BuildxVersion)
}

// goInstall runs go install with args (and env added) into dir, through
// a temporary directory, so that a cut build leaves no half a tool
// there; what and version name the tool in the errors.
func goInstall(ctx context.Context, dir, what, version string, env []string, args ...string) error {
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	env = append(append(goEnv(), "GOBIN="+tmp), env...)
	if o, err := runOut(ctx, env, "", "go", append([]string{"install"}, args...)...); err != nil {
		return fmt.Errorf("build %s %s: %w\n%s", what, version, err, o)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("install %s %s: %w", what, version, err)
	}
	return nil
}

// goEnv builds third-party tools independently of the project's settings.
func goEnv() []string {
	return append(os.Environ(), "GOFLAGS=", "GOWORK=off")
}

func moduleDir(ctx context.Context, mod string) (string, error) {
	out, err := runOut(ctx, goEnv(), os.TempDir(), "go", "mod", "download", "-json", mod)
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w\n%s", mod, err, out)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no module dir (%v %s)", mod, err, m.Error)
	}
	return m.Dir, nil
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		o, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(o, in); err != nil {
			o.Close()
			return err
		}
		return o.Close()
	})
}

func runOut(ctx context.Context, env []string, dir, prog string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = env
	cmd.Dir = dir
	var b bytes.Buffer
	cmd.Stdout = &b
	cmd.Stderr = &b
	err := cmd.Run()
	return b.Bytes(), err
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
