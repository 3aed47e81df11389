//go:build linux

package testenv

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Base images: what real Dockerfiles start FROM, made here from Debian's
// packages because no public registry is reachable. They are built once
// into an OCI image layout in the tool cache, keyed by what goes into them,
// and pushed to each test registry, which every test builder uses as its
// docker.io mirror (see RegistryTOML and StartDockerd).

// imagesSchema changes when the way the images are made changes, so a
// cached layout of an older recipe is not reused.
const imagesSchema = "5"

// debianSuite is the Debian release the images are made of.
const debianSuite = "bookworm"

// caBundle is the machine's CA bundle. Builds reach package registries over
// HTTPS, through whatever the machine trusts, so the images trust the same.
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

// BaseImages is an OCI image layout of the base images and their names.
type BaseImages struct {
	// Layout is the OCI image layout directory; each manifest in its
	// index carries its repository:tag as org.opencontainers.image.ref.name.
	Layout string
	// GoTag is the golang image's version tag ("1.26"; also "1.26.8",
	// with and without "-bookworm"): the Go toolchain of this machine.
	GoTag string
	// NodeTag is the node image's major version ("18"; also
	// "18-bookworm"): Debian's nodejs.
	NodeTag string
	// BuildKit is the repository:tag of the BuildKit image for buildx's
	// docker-container driver: Debian, runc and the buildkitd of Tools.
	BuildKit string
	// Refs are all repository:tag names in the layout.
	Refs []string
}

// EnsureBaseImages returns the base images from the tool cache, making
// them the first time (debootstrap from Debian's mirror: a few minutes).
func EnsureBaseImages(ctx context.Context, t Tools, logf Logf) (*BaseImages, error) {
	cache, err := CacheDir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, fmt.Errorf("create tool cache: %w", err)
	}
	key, goVersion, goroot, err := imagesKey(ctx, t)
	if err != nil {
		return nil, err
	}
	// Its own lock: making images does not hold up tests that only need
	// the tools.
	unlock, err := lockFile(filepath.Join(cache, ".images.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	dir := filepath.Join(cache, "images-"+key)
	meta := filepath.Join(dir, "images.json")
	if b, err := os.ReadFile(meta); err == nil {
		var bi BaseImages
		if err := json.Unmarshal(b, &bi); err == nil {
			bi.Layout = filepath.Join(dir, "layout")
			return &bi, nil
		}
	}
	start := time.Now()
	logf("making base images (debian:%s, golang:%s, node, moby/buildkit, docker/dockerfile) from Debian's packages (a few minutes, once)", debianSuite, goVersion)
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	defer os.RemoveAll(tmp)
	bi, err := makeBaseImages(ctx, t, goVersion, goroot, tmp, logf)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(bi)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "images.json"), b, 0o644); err != nil {
		return nil, err
	}
	// Only the layout and its names are kept; the root file systems and
	// layer files were written next to them.
	for _, d := range []string{"rootfs", "layers"} {
		if err := removeAll(filepath.Join(tmp, d)); err != nil {
			return nil, err
		}
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	logf("base images made in %s", time.Since(start).Round(time.Second))
	bi.Layout = filepath.Join(dir, "layout")
	return bi, nil
}

// imagesKey hashes what goes into the images, apart from Debian's
// packages of the day: the recipe, the Go toolchain, the CA bundle, runc
// and the BuildKit version.
func imagesKey(ctx context.Context, t Tools) (key, goVersion, goroot string, err error) {
	out, err := runOut(ctx, goEnv(), os.TempDir(), "go", "env", "GOVERSION", "GOROOT")
	if err != nil {
		return "", "", "", fmt.Errorf("go env: %w\n%s", err, out)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 || !strings.HasPrefix(f[0], "go") {
		return "", "", "", fmt.Errorf("go env GOVERSION GOROOT: unexpected %q", out)
	}
	goVersion, goroot = strings.TrimPrefix(f[0], "go"), f[1]
	h := sha256.New()
	fmt.Fprintf(h, "schema %s\nsuite %s\ngo %s %s\nbuildkit %s\narch %s\n", imagesSchema, debianSuite, f[0], f[1], BuildKitVersion, runtime.GOARCH)
	for _, p := range []string{caBundle, t.Runc} {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", "", "", fmt.Errorf("base images: %w", err)
		}
		fmt.Fprintf(h, "%s %x\n", p, sha256.Sum256(b))
	}
	return hex.EncodeToString(h.Sum(nil))[:16], goVersion, goroot, nil
}

func makeBaseImages(ctx context.Context, t Tools, goVersion, goroot, dir string, logf Logf) (*BaseImages, error) {
	mirror, err := DebianMirror()
	if err != nil {
		return nil, err
	}
	debRoot := filepath.Join(dir, "rootfs", "debian")
	nodeRoot := filepath.Join(dir, "rootfs", "node")
	// The root file systems come from the network, the frontend from the
	// compiler: made side by side.
	var frontend string
	errc := make(chan error, 1)
	go func() {
		var err error
		frontend, err = buildFrontend(ctx, filepath.Join(dir, "frontend"))
		errc <- err
	}()
	err = debootstrap(ctx, debRoot, mirror)
	if err == nil {
		logf("debootstrap %s done; installing nodejs and npm on a copy", debianSuite)
		err = copyRoot(ctx, debRoot, nodeRoot)
	}
	if err == nil {
		err = aptInstall(ctx, nodeRoot, "nodejs", "npm")
	}
	if err := errors.Join(err, <-errc); err != nil {
		return nil, err
	}
	nodeVersion, err := debPackageVersion(nodeRoot, "nodejs")
	if err != nil {
		return nil, err
	}
	nodeMajor, _, _ := strings.Cut(nodeVersion, ".")

	layers := filepath.Join(dir, "layers")
	if err := os.MkdirAll(layers, 0o755); err != nil {
		return nil, err
	}
	debLayer, err := dirLayer(debRoot, "", filepath.Join(layers, "debian.tar.gz"))
	if err != nil {
		return nil, err
	}
	nodeLayer, err := diffLayer(debRoot, nodeRoot, filepath.Join(layers, "node.tar.gz"))
	if err != nil {
		return nil, err
	}
	goLayer, err := dirLayer(goroot, "usr/local/go", filepath.Join(layers, "go.tar.gz"))
	if err != nil {
		return nil, err
	}
	bkLayer, err := filesLayer(filepath.Join(layers, "buildkit.tar.gz"), map[string]string{
		"usr/bin/buildkitd": t.Buildkitd,
		"usr/bin/buildctl":  t.Buildctl,
		"usr/bin/runc":      t.Runc,
	}, runcLibs(t.Runc, debRoot))
	if err != nil {
		return nil, err
	}
	feLayer, err := filesLayer(filepath.Join(layers, "frontend.tar.gz"), map[string]string{"bin/dockerfile-frontend": frontend}, nil)
	if err != nil {
		return nil, err
	}

	path := "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	debian, err := image(empty.Image, debLayer, v1.Config{Env: []string{path}, Cmd: []string{"bash"}})
	if err != nil {
		return nil, err
	}
	golang, err := image(debian, goLayer, v1.Config{
		Env: []string{
			"PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"GOLANG_VERSION=" + goVersion, "GOPATH=/go",
			// As the official image: the toolchain in the image builds, a
			// go.mod's toolchain line never downloads another.
			"GOTOOLCHAIN=local",
		},
		WorkingDir: "/go",
		Cmd:        []string{"bash"},
	})
	if err != nil {
		return nil, err
	}
	node, err := image(debian, nodeLayer, v1.Config{
		// Debian's node uses its own CA list unless told otherwise.
		Env: []string{path, "NODE_EXTRA_CA_CERTS=" + caBundle},
		Cmd: []string{"node"},
	})
	if err != nil {
		return nil, err
	}
	buildkit, err := image(debian, bkLayer, v1.Config{Env: []string{path}, Entrypoint: []string{"buildkitd"}})
	if err != nil {
		return nil, err
	}
	fe, err := image(empty.Image, feLayer, v1.Config{
		Entrypoint: []string{"/bin/dockerfile-frontend"},
		Labels: map[string]string{
			"moby.buildkit.frontend.network.none": "true",
			"moby.buildkit.frontend.caps":         "moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts",
		},
	})
	if err != nil {
		return nil, err
	}

	goMinor := goVersion
	if p := strings.SplitN(goVersion, ".", 3); len(p) == 3 {
		goMinor = p[0] + "." + p[1]
	}
	bi := &BaseImages{GoTag: goMinor, NodeTag: nodeMajor, BuildKit: "moby/buildkit:" + BuildKitVersion}
	named := []struct {
		img  v1.Image
		refs []string
	}{
		{debian, []string{"library/debian:" + debianSuite, "library/debian:" + debianSuite + "-slim"}},
		{golang, []string{
			"library/golang:" + goVersion, "library/golang:" + goVersion + "-" + debianSuite,
			"library/golang:" + goMinor, "library/golang:" + goMinor + "-" + debianSuite,
		}},
		{node, []string{"library/node:" + nodeMajor, "library/node:" + nodeMajor + "-" + debianSuite, "library/node:" + nodeMajor + "-" + debianSuite + "-slim"}},
		{buildkit, []string{bi.BuildKit}},
		{fe, []string{"docker/dockerfile:1", "docker/dockerfile:" + BuildKitVersion}},
	}
	p, err := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	if err != nil {
		return nil, err
	}
	for _, n := range named {
		for _, ref := range n.refs {
			if err := p.AppendImage(n.img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
				return nil, fmt.Errorf("write %s: %w", ref, err)
			}
			bi.Refs = append(bi.Refs, ref)
		}
	}
	return bi, nil
}

// image is base with one more layer and the given config.
func image(base v1.Image, l v1.Layer, c v1.Config) (v1.Image, error) {
	img, err := mutate.Append(base, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: "inline-cache testenv", Created: v1.Time{Time: time.Unix(0, 0).UTC()}}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = c
	return mutate.ConfigFile(img, cf)
}

// DebianMirror is the Debian archive URL apt uses on this machine, read
// from its sources (one-line and deb822 formats): the main archive of the
// release, not the security one.
func DebianMirror() (string, error) {
	var files []string
	if exists("/etc/apt/sources.list") {
		files = append(files, "/etc/apt/sources.list")
	}
	more, _ := filepath.Glob("/etc/apt/sources.list.d/*")
	files = append(files, more...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, u := range aptURIs(string(b), strings.HasSuffix(f, ".sources")) {
			if strings.HasSuffix(strings.TrimRight(u, "/"), "/debian") && (strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")) {
				return u, nil
			}
		}
	}
	return "", fmt.Errorf("no Debian archive (…/debian) found in apt's sources %v", files)
}

// aptURIs lists the archive URIs of an apt sources file whose suites
// include debianSuite.
func aptURIs(text string, deb822 bool) []string {
	var out []string
	if !deb822 {
		for _, line := range strings.Split(text, "\n") {
			f := strings.Fields(line)
			// deb [options] uri suite components…
			if len(f) < 3 || f[0] != "deb" {
				continue
			}
			f = f[1:]
			if strings.HasPrefix(f[0], "[") {
				for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
					f = f[1:]
				}
				if len(f) > 0 {
					f = f[1:]
				}
			}
			if len(f) >= 2 && f[1] == debianSuite {
				out = append(out, f[0])
			}
		}
		return out
	}
	for _, stanza := range strings.Split(text, "\n\n") {
		var uris, suites []string
		types := ""
		for _, line := range strings.Split(stanza, "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "Types":
				types = v
			case "URIs":
				uris = strings.Fields(v)
			case "Suites":
				suites = strings.Fields(v)
			}
		}
		if !strings.Contains(" "+types+" ", " deb ") {
			continue
		}
		for _, s := range suites {
			if s == debianSuite {
				out = append(out, uris...)
				break
			}
		}
	}
	return out
}

// debootstrap makes a minimal Debian root file system with the machine's
// CA bundle, without the downloaded packages and package lists.
func debootstrap(ctx context.Context, root, mirror string) error {
	prog, err := lookPath("debootstrap")
	if err != nil {
		return err
	}
	if out, err := runOut(ctx, os.Environ(), "", prog, "--variant=minbase", debianSuite, root, mirror); err != nil {
		tail, _ := os.ReadFile(filepath.Join(root, "debootstrap", "debootstrap.log"))
		return fmt.Errorf("debootstrap %s %s: %w\n%s\n%s", debianSuite, root, err, lastLines(out, 30), lastLines(tail, 30))
	}
	return cleanRoot(root)
}

// aptInstall installs Debian packages into a root file system with its own
// apt (chrooted), which resolves dependencies as debootstrap's --include
// does not (npm's virtual packages). Name resolution in the chroot needs
// the machine's resolv.conf, which cleanRoot removes again.
func aptInstall(ctx context.Context, root string, pkgs ...string) error {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "etc/resolv.conf"), b, 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"update", "-q"},
		// No fsync per unpacked file: the tree is thrown away on failure.
		append([]string{"install", "-y", "-q", "--no-install-recommends", "-o", "Dpkg::Options::=--force-unsafe-io"}, pkgs...),
		{"clean"},
	} {
		cmd := exec.CommandContext(ctx, "/usr/bin/apt-get", args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
		cmd.Dir = "/"
		cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C"}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s in %s: %w\n%s", strings.Join(args, " "), root, err, lastLines(out, 30))
		}
	}
	return cleanRoot(root)
}

// cleanRoot drops what an image should not carry (downloaded packages,
// package lists, logs, the machine's resolv.conf and host name: a
// container runtime provides its own) and puts the machine's CA bundle in.
func cleanRoot(root string) error {
	for _, glob := range []string{"var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*_*", "var/log/*.log", "var/log/apt/*", "etc/resolv.conf", "etc/hostname"} {
		m, _ := filepath.Glob(filepath.Join(root, glob))
		for _, f := range m {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	b, err := os.ReadFile(caBundle)
	if err != nil {
		return fmt.Errorf("CA bundle: %w", err)
	}
	dst := filepath.Join(root, caBundle)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// debPackageVersion reads a package's version from a root file system's
// dpkg status.
func debPackageVersion(root, pkg string) (string, error) {
	f, err := os.Open(filepath.Join(root, "var/lib/dpkg/status"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	in := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			in = false
		case line == "Package: "+pkg:
			in = true
		case in && strings.HasPrefix(line, "Version: "):
			return strings.TrimPrefix(line, "Version: "), nil
		}
	}
	return "", fmt.Errorf("%s not installed in %s", pkg, root)
}

// runcLibs are the shared libraries runc needs that the Debian root file
// system lacks (libseccomp), as layer path → host path.
func runcLibs(runc, root string) map[string]string {
	out := map[string]string{}
	b, err := runOut(context.Background(), os.Environ(), "", "ldd", runc)
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		// libseccomp.so.2 => /lib/x86_64-linux-gnu/libseccomp.so.2 (0x…)
		_, rest, ok := strings.Cut(line, "=> ")
		if !ok {
			continue
		}
		p := strings.Fields(rest)
		if len(p) == 0 || !filepath.IsAbs(p[0]) {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, p[0])); err == nil {
			continue
		}
		real, err := filepath.EvalSymlinks(p[0])
		if err != nil {
			continue
		}
		// The library's directory as the root has it: /lib is a link to
		// usr/lib there, and a layer entry below "lib/" would replace it.
		dir, err := filepath.EvalSymlinks(filepath.Join(root, filepath.Dir(p[0])))
		if err != nil {
			continue
		}
		realRoot, err := filepath.EvalSymlinks(root)
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(realRoot, dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		out[filepath.Join(rel, filepath.Base(p[0]))] = real
	}
	return out
}

// buildFrontend builds BuildKit's Dockerfile frontend, static, from the
// same module version as buildkitd.
func buildFrontend(ctx context.Context, out string) (string, error) {
	src, err := moduleDir(ctx, "github.com/moby/buildkit@"+BuildKitVersion)
	if err != nil {
		return "", err
	}
	work, err := os.MkdirTemp("", "buildkit-src-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if err := copyTree(src, work); err != nil {
		return "", fmt.Errorf("copy buildkit module: %w", err)
	}
	bin := filepath.Join(out, "dockerfile-frontend")
	env := append(goEnv(), "CGO_ENABLED=0")
	if o, err := runOut(ctx, env, work, "go", "build", "-mod=mod", "-o", bin, "./frontend/dockerfile/cmd/dockerfile-frontend"); err != nil {
		return "", fmt.Errorf("build dockerfile-frontend %s: %w\n%s", BuildKitVersion, err, o)
	}
	return bin, nil
}

// dirLayer writes the tree at root, under prefix, as a gzipped tar layer.
// Device nodes, sockets and the contents of proc, sys and dev are left
// out: a container runtime provides them.
func dirLayer(root, prefix, out string) (v1.Layer, error) {
	return writeLayer(out, func(tw *tar.Writer) error {
		if prefix != "" {
			if err := parentDirs(tw, prefix+"/x", map[string]bool{}); err != nil {
				return err
			}
		}
		return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if rel == "." {
				return nil
			}
			if prefix == "" && skipInRoot(rel) {
				return skipDir(d)
			}
			name := filepath.ToSlash(filepath.Join(prefix, rel))
			return addFile(tw, p, name)
		})
	})
}

// copyRoot copies a root file system with everything it holds (owners,
// times, device nodes, hard links).
func copyRoot(ctx context.Context, src, dst string) error {
	if out, err := runOut(ctx, os.Environ(), "", "cp", "-a", src, dst); err != nil {
		return fmt.Errorf("cp -a %s %s: %w\n%s", src, dst, err, out)
	}
	return nil
}

// diffLayer writes what upper (a copy of lower, then changed) adds to,
// changes in and removes from lower as a gzipped tar layer: new and
// changed entries, and whiteouts for removed ones.
func diffLayer(lower, upper, out string) (v1.Layer, error) {
	return writeLayer(out, func(tw *tar.Writer) error {
		err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(upper, p)
			if rel == "." {
				return nil
			}
			if skipInRoot(rel) {
				return skipDir(d)
			}
			if sameEntry(p, filepath.Join(lower, rel)) {
				return nil
			}
			return addFile(tw, p, filepath.ToSlash(rel))
		})
		if err != nil {
			return err
		}
		return filepath.WalkDir(lower, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(lower, p)
			if rel == "." {
				return nil
			}
			if skipInRoot(rel) {
				return skipDir(d)
			}
			if _, err := os.Lstat(filepath.Join(upper, rel)); !errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			wh := filepath.ToSlash(filepath.Join(filepath.Dir(rel), ".wh."+filepath.Base(rel)))
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: wh, Mode: 0o644}); err != nil {
				return err
			}
			return skipDir(d)
		})
	})
}

// sameEntry says whether two paths hold the same entry: type, mode,
// owner, size, time and link target (cp -a keeps them for what apt left
// alone).
func sameEntry(a, b string) bool {
	fa, err := os.Lstat(a)
	if err != nil {
		return false
	}
	fb, err := os.Lstat(b)
	if err != nil {
		return false
	}
	sa, oka := fa.Sys().(*syscall.Stat_t)
	sb, okb := fb.Sys().(*syscall.Stat_t)
	if !oka || !okb || sa.Uid != sb.Uid || sa.Gid != sb.Gid {
		return false
	}
	if fa.Mode() != fb.Mode() || fa.Size() != fb.Size() || !fa.ModTime().Equal(fb.ModTime()) {
		return false
	}
	if fa.Mode()&fs.ModeSymlink != 0 {
		la, _ := os.Readlink(a)
		lb, _ := os.Readlink(b)
		return la == lb
	}
	return true
}

// skipInRoot: the contents of proc, sys and dev, which a container
// runtime provides, and debootstrap's own leftovers.
func skipInRoot(rel string) bool {
	switch filepath.Dir(rel) {
	case "proc", "sys", "dev":
		return true
	}
	return rel == "debootstrap"
}

func skipDir(d fs.DirEntry) error {
	if d.IsDir() {
		return fs.SkipDir
	}
	return nil
}

// filesLayer writes single files (layer path → host path), with their
// parent directories (each once: docker refuses a layer that has a path
// twice), as a gzipped tar layer.
func filesLayer(out string, files ...map[string]string) (v1.Layer, error) {
	return writeLayer(out, func(tw *tar.Writer) error {
		dirs := map[string]bool{}
		for _, m := range files {
			for _, name := range slices.Sorted(maps.Keys(m)) {
				if err := parentDirs(tw, name, dirs); err != nil {
					return err
				}
				if err := addFile(tw, m[name], name); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// parentDirs writes the directories above name that are not in written
// yet.
func parentDirs(tw *tar.Writer, name string, written map[string]bool) error {
	dir := ""
	for _, part := range strings.Split(filepath.Dir(name), "/") {
		if part == "." || part == "" {
			continue
		}
		dir += part + "/"
		if written[dir] {
			continue
		}
		written[dir] = true
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755}); err != nil {
			return err
		}
	}
	return nil
}

func addFile(tw *tar.Writer, p, name string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	link := ""
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	case fi.IsDir(), fi.Mode().IsRegular():
	default:
		return nil
	}
	h, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	h.Name, h.Uname, h.Gname = name, "", ""
	if fi.IsDir() {
		h.Name += "/"
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

func writeLayer(out string, fill func(*tar.Writer) error) (v1.Layer, error) {
	f, err := os.Create(out)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	if err := fill(tw); err != nil {
		return nil, fmt.Errorf("layer %s: %w", filepath.Base(out), err)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return tarball.LayerFromFile(out)
}

// removeAll removes a tree that may hold read-only directories (a root
// file system).
func removeAll(p string) error {
	err := os.RemoveAll(p)
	if err == nil {
		return nil
	}
	_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(q, 0o755)
		}
		return nil
	})
	return os.RemoveAll(p)
}

// PushBaseImages pushes the base images to the environment's registry
// under their docker.io names (library/debian:bookworm, …), where every
// test builder's docker.io mirror finds them. Blobs the images share are
// sent once.
func (e *Env) PushBaseImages(ctx context.Context, bi *BaseImages) error {
	p, err := layout.FromPath(bi.Layout)
	if err != nil {
		return fmt.Errorf("base images: %w", err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	writes := map[name.Reference]remote.Taggable{}
	for _, d := range im.Manifests {
		ref := d.Annotations["org.opencontainers.image.ref.name"]
		img, err := idx.Image(d.Digest)
		if err != nil {
			return fmt.Errorf("base image %s: %w", ref, err)
		}
		r, err := name.ParseReference(e.Registry+"/"+ref, name.Insecure)
		if err != nil {
			return err
		}
		writes[r] = img
	}
	if len(writes) != len(bi.Refs) {
		return fmt.Errorf("base images: the layout holds %d images, want %d", len(writes), len(bi.Refs))
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := remote.MultiWrite(writes, remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("push base images to %s: %w", e.Registry, err)
	}
	return nil
}
