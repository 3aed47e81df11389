//go:build linux

package e2e

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inlinecache/action/internal/e2e/harness"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestScratchImage builds the repository Dockerfile's `bin` target (FROM
// scratch) with the real BuildKit and runs the binary inside the image.
// No base image can be pulled here, so the `build` stage (golang) is
// replaced by a named build context holding what it would produce: a static
// binary built the same way (CGO_ENABLED=0 -trimpath) and the CA
// certificates. The `ci` target (docker:cli) is not built: it needs Docker
// Hub.
func TestScratchImage(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	stage := t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(stage, "out", "inline-cache"), "github.com/inlinecache/action")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatalf("CA certificates for the image (Debian package ca-certificates): %v", err)
	}
	mustWrite(t, filepath.Join(stage, "etc", "ssl", "certs", "ca-certificates.crt"), string(certs), 0o644)

	ref := repo(t) + ":bin"
	out, err := harness.Env.Buildx(ctx, "build", "--progress", "plain",
		"--file", filepath.Join(root, "Dockerfile"), "--target", "bin",
		"--build-context", "build="+stage,
		"--cache-to", "type=inline", "--tag", ref, "--push", root)
	t.Logf("buildx build --target bin:\n%s", out)
	if err != nil {
		t.Fatalf("build the scratch image: %v", err)
	}

	// The pushed image: entry point, and nothing but the binary and certs.
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("read %s: %v", ref, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Config.Entrypoint, []string{"/inline-cache"}) || !slices.Equal(cfg.Config.Cmd, []string{"help"}) || !slices.Contains(cfg.Config.Env, "HOME=/root") {
		t.Errorf("config: entrypoint %q cmd %q env %q", cfg.Config.Entrypoint, cfg.Config.Cmd, cfg.Config.Env)
	}
	var files []string
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read image filesystem: %v", err)
		}
		if h.Typeflag == tar.TypeReg {
			files = append(files, h.Name)
			if h.Name == "inline-cache" && h.Mode&0o111 == 0 {
				t.Errorf("/inline-cache is not executable: %o", h.Mode)
			}
		}
	}
	slices.Sort(files)
	if !slices.Equal(files, []string{"etc/ssl/certs/ca-certificates.crt", "inline-cache"}) {
		t.Errorf("image files = %q, want only the binary and the CA certificates", files)
	}

	// Run it in the image (exec form: there is no shell): print the version
	// and verify the image's own inline cache from the registry.
	runDir := t.TempDir()
	mustWrite(t, filepath.Join(runDir, "Dockerfile"), "FROM "+ref+"\n"+
		`RUN ["/inline-cache", "version"]`+"\n"+
		`RUN ["/inline-cache", "verify", "`+ref+`"]`+"\n", 0o644)
	out, err = harness.Env.Buildx(ctx, "build", "--progress", "plain", "--no-cache", "--output", "type=cacheonly", runDir)
	t.Logf("run the image:\n%s", out)
	if err != nil {
		t.Fatalf("inline-cache in the scratch image: %v", err)
	}
	if !regexp.MustCompile(`(?m) inline-cache \S+ \(commit \S+, go\S+, linux/` + runtime.GOARCH + `\)$`).MatchString(out) {
		t.Errorf("version did not run in the image")
	}
	if !strings.Contains(out, ref+": VERIFIED") {
		t.Errorf("verify in the image did not verify %s", ref)
	}
}
