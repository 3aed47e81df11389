//go:build linux

package verify_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/testenv"
	"github.com/inlinecache/action/internal/verify"
)

// benchPlatforms are the index widths the benchmarks compare.
var benchPlatforms = []int{1, 4, 16}

// BenchmarkVerify reads an N-platform index with inline cache from
// go-containerregistry's in-memory registry over loopback HTTP, as the
// verify command does: a fresh connection pool per run, as in a new
// process. Compare with BenchmarkImagetools (make bench prints the ratio).
func BenchmarkVerify(b *testing.B) {
	for _, n := range benchPlatforms {
		b.Run(fmt.Sprintf("platforms=%d", n), func(b *testing.B) {
			reg := registrytest.Serve(b)
			ref := registrytest.PushIndex(b, reg+"/app:multi", platformImages(b, n)...)
			b.ResetTimer()
			for range b.N {
				tr := remote.DefaultTransport.(*http.Transport).Clone()
				v := verify.New(verify.WithKeychain(authn.NewMultiKeychain()), verify.WithTransport(tr))
				rep, err := v.Verify(context.Background(), ref)
				if err != nil || len(rep.Platforms) != n || !rep.Verified() {
					b.Fatalf("verify: %v %v", err, rep.Failures())
				}
				tr.CloseIdleConnections()
			}
		})
	}
}

// BenchmarkImagetools does the same read with the standalone buildx
// (testenv.EnsureTools) as `docker buildx imagetools inspect --format
// '{{json .Image}}'`, which fetches every platform's manifest and config,
// against the same kind of registry.
func BenchmarkImagetools(b *testing.B) {
	tools, err := testenv.EnsureTools(context.Background(), b.Logf)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range benchPlatforms {
		b.Run(fmt.Sprintf("platforms=%d", n), func(b *testing.B) {
			reg := registrytest.Serve(b)
			ref := registrytest.PushIndex(b, reg+"/app:multi", platformImages(b, n)...)
			dir := b.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}\n"), 0o600); err != nil {
				b.Fatal(err)
			}
			env := []string{"DOCKER_CONFIG=" + dir, "HOME=" + dir, "PATH=" + os.Getenv("PATH"),
				// No daemon: buildx must not find a system one.
				"DOCKER_HOST=unix://" + filepath.Join(dir, "none.sock")}
			b.ResetTimer()
			for range b.N {
				cmd := exec.Command(tools.Buildx, "imagetools", "inspect", "--format", "{{json .Image}}", ref)
				cmd.Env = env
				out, err := cmd.CombinedOutput()
				if err != nil {
					b.Fatalf("imagetools inspect: %v\n%s", err, out)
				}
				if got := strings.Count(string(out), `"rootfs"`); got != n {
					b.Fatalf("imagetools printed %d configs, want %d:\n%s", got, n, out)
				}
			}
		})
	}
}
