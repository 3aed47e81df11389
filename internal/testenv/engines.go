//go:build linux

package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Versions of the current Docker engine the environment builds: the CLI
// and daemon that GitHub's runners and developers' machines have, and the
// containerd 2 that the daemon's containerd image store runs on.
const (
	DockerCLIVersion  = "29.10.0"
	DockerdVersion    = "28.5.2"
	ContainerdVersion = "v2.4.2"
)

// Docker 29's daemon is github.com/moby/moby/v2. The proxy serves
// v2.0.0-beta.25 ("next: 29.9.0") itself, but refuses five of its pinned
// requirements, each with "403 Forbidden, server response: This module
// version is not available.":
//
//	github.com/moby/buildkit@v0.34.0-rc1
//	github.com/moby/extensions@v0.0.0-20260918151408-e4c23d866037
//	github.com/moby/policy-helpers@v0.0.0-20260928152613-27d9ecfb5a76
//	github.com/moby/profiles/apparmor@v0.2.2
//	github.com/moby/swarmkit/v2@v2.1.3-0.20260917205909-1fd637ba5cc3
//
// so the daemon is 28.5.2 (github.com/docker/docker), all of whose
// requirements are served. The CLI 29.10 pins swarmkit v2.1.3, refused the
// same way; it uses only swarmkit's API types, which v2.1.2 (served) has.
var cliReplaces = []string{"github.com/moby/swarmkit/v2=github.com/moby/swarmkit/v2@v2.1.2"}

// Engine is one Docker engine's programs.
type Engine struct {
	Version string
	// Docker is the CLI (29 for the current engine, whatever its daemon).
	Docker     string
	Dockerd    string
	Containerd string
	// ShimDir holds containerd's runc shim; containerd finds it on PATH.
	ShimDir string
}

// Engine20 is Debian's docker.io 20.10 with its containerd and CLI.
func (t Tools) Engine20() Engine {
	return Engine{Version: "20.10", Docker: t.Docker, Dockerd: t.Dockerd, Containerd: t.Containerd}
}

// ensureCurrentEngine builds the docker CLI, dockerd and containerd with its
// shim from the Go module proxy, each cached by version. The caller holds
// the tools lock. Built without cgo: the build tags drop the graph drivers
// and quota code that need C headers (btrfs, devicemapper, zfs).
func ensureCurrentEngine(ctx context.Context, cache string, logf Logf) (Engine, error) {
	e := Engine{Version: DockerdVersion}
	cliDir := filepath.Join(cache, "docker-cli-"+DockerCLIVersion)
	e.Docker = filepath.Join(cliDir, "docker")
	if !exists(e.Docker) {
		logf("building the docker CLI %s from the Go module proxy (a few minutes, once)", DockerCLIVersion)
		err := buildVendorMod(ctx, "github.com/docker/cli@v"+DockerCLIVersion+"+incompatible", cliReplaces,
			"osusergo netgo", "-X github.com/docker/cli/cli/version.Version="+DockerCLIVersion, cliDir, "./cmd/docker")
		if err != nil {
			return e, err
		}
	}
	dDir := filepath.Join(cache, "dockerd-"+DockerdVersion)
	e.Dockerd = filepath.Join(dDir, "dockerd")
	if !exists(e.Dockerd) {
		logf("building dockerd %s from the Go module proxy (several minutes, once)", DockerdVersion)
		err := buildVendorMod(ctx, "github.com/docker/docker@v"+DockerdVersion+"+incompatible", nil,
			"osusergo netgo exclude_graphdriver_btrfs exclude_graphdriver_devicemapper exclude_disk_quota",
			"-X github.com/docker/docker/dockerversion.Version="+DockerdVersion, dDir, "./cmd/dockerd")
		if err != nil {
			return e, err
		}
	}
	cDir := filepath.Join(cache, "containerd-"+ContainerdVersion)
	e.Containerd, e.ShimDir = filepath.Join(cDir, "containerd"), cDir
	if !exists(e.Containerd) || !exists(filepath.Join(cDir, "containerd-shim-runc-v2")) {
		logf("building containerd %s and its runc shim from the Go module proxy (a few minutes, once)", ContainerdVersion)
		src, err := moduleDir(ctx, "github.com/containerd/containerd/v2@"+ContainerdVersion)
		if err != nil {
			return e, err
		}
		err = buildIn(ctx, src, "no_btrfs no_devmapper no_zfs urfave_cli_no_docs osusergo netgo",
			"-X github.com/containerd/containerd/v2/version.Version="+ContainerdVersion, cDir,
			"./cmd/containerd", "./cmd/containerd-shim-runc-v2")
		if err != nil {
			return e, err
		}
	}
	return e, nil
}

// buildVendorMod builds pkgs of a module that keeps its requirements in
// vendor.mod (docker/cli, docker/docker: CalVer, no go.mod), in a copy
// where vendor.mod is the go.mod, with replaces applied.
func buildVendorMod(ctx context.Context, mod string, replaces []string, tags, ldflags, out string, pkgs ...string) error {
	src, err := moduleDir(ctx, mod)
	if err != nil {
		return err
	}
	return buildInCopy(ctx, src, func(work string) error {
		// The module zip keeps only vendor/modules.txt, which would make
		// go build want a vendor directory.
		if err := os.RemoveAll(filepath.Join(work, "vendor")); err != nil {
			return err
		}
		for _, f := range [][2]string{{"vendor.mod", "go.mod"}, {"vendor.sum", "go.sum"}} {
			if err := os.Rename(filepath.Join(work, f[0]), filepath.Join(work, f[1])); err != nil {
				return fmt.Errorf("%s: %w", mod, err)
			}
		}
		for _, r := range replaces {
			if o, err := runOut(ctx, goEnv(), work, "go", "mod", "edit", "-replace", r); err != nil {
				return fmt.Errorf("go mod edit -replace %s: %w\n%s", r, err, o)
			}
		}
		return nil
	}, tags, ldflags, out, pkgs...)
}

func buildIn(ctx context.Context, src, tags, ldflags, out string, pkgs ...string) error {
	return buildInCopy(ctx, src, func(string) error { return nil }, tags, ldflags, out, pkgs...)
}

// buildInCopy builds pkgs in a writable copy of the module at src (the
// module cache is read-only, and go install refuses modules with replace or
// exclude directives) into the directory out, via out.tmp.
func buildInCopy(ctx context.Context, src string, prepare func(work string) error, tags, ldflags, out string, pkgs ...string) error {
	work, err := os.MkdirTemp("", "engine-src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := copyTree(src, work); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := prepare(work); err != nil {
		return err
	}
	tmpOut := out + ".tmp"
	os.RemoveAll(tmpOut)
	args := append([]string{"build", "-mod=mod", "-trimpath", "-tags", tags, "-ldflags", ldflags, "-o", tmpOut + "/"}, pkgs...)
	if o, err := runOut(ctx, append(goEnv(), "CGO_ENABLED=0"), work, "go", args...); err != nil {
		return fmt.Errorf("build %s in %s: %w\n%s", pkgs, src, err, o)
	}
	os.RemoveAll(out)
	return os.Rename(tmpOut, out)
}
