package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/inlinecache/action/internal/command"
)

// DefaultTargets are the platforms a release ships; dist/index.js maps
// node's process.platform/process.arch onto the same names.
var DefaultTargets = []string{
	"linux/amd64", "linux/arm64",
	"darwin/amd64", "darwin/arm64",
	"windows/amd64", "windows/arm64",
}

// SumsFile is the checksum file's name in the output directory.
const SumsFile = "SHA256SUMS"

// Target is one GOOS/GOARCH pair.
type Target struct{ OS, Arch string }

func (t Target) String() string { return t.OS + "/" + t.Arch }

// BinaryName is the file name of the target's binary in dist/.
func (t Target) BinaryName() string {
	name := "inline-cache-" + t.OS + "-" + t.Arch
	if t.OS == "windows" {
		name += ".exe"
	}
	return name
}

// ParseTargets reads a comma-separated GOOS/GOARCH list.
func ParseTargets(s string) ([]Target, error) {
	var ts []Target
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		goos, goarch, ok := strings.Cut(f, "/")
		if !ok || goos == "" || goarch == "" || strings.Contains(goarch, "/") {
			return nil, fmt.Errorf("target %q: want GOOS/GOARCH", f)
		}
		t := Target{goos, goarch}
		if slices.Contains(ts, t) {
			return nil, fmt.Errorf("target %q given twice", f)
		}
		ts = append(ts, t)
	}
	if len(ts) == 0 {
		return nil, errors.New("no targets")
	}
	return ts, nil
}

// Config is one dist build.
type Config struct {
	Version, Commit string
	// Out is the output directory (dist).
	Out string
	// Pkg is the main package to build, relative to the current directory.
	Pkg     string
	Targets []Target
	Exec    command.Func
	Stdout  io.Writer
	Stderr  io.Writer
}

// versionPkg is where the link-time version variables live.
const versionPkg = "github.com/inlinecache/action/internal/app"

// LDFlags stamps version and commit; -s -w drop the symbol and DWARF tables
// a release binary does not need.
func LDFlags(version, commit string) string {
	return fmt.Sprintf("-s -w -X %s.Version=%s -X %s.Commit=%s", versionPkg, version, versionPkg, commit)
}

// GoBuild is the command that builds one target: static (CGO_ENABLED=0),
// reproducible paths (-trimpath), version stamped.
func GoBuild(cfg Config, t Target) command.Cmd {
	return command.Cmd{
		Path:   "go",
		Args:   []string{"build", "-trimpath", "-ldflags", LDFlags(cfg.Version, cfg.Commit), "-o", filepath.Join(cfg.Out, t.BinaryName()), cfg.Pkg},
		Env:    append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.OS, "GOARCH="+t.Arch),
		Stdout: cfg.Stdout,
		Stderr: cfg.Stderr,
	}
}

// Build builds every target into cfg.Out and writes SHA256SUMS for them.
// Binaries of a previous run that are not targets now are removed, so the
// directory and the checksum file always agree.
func Build(ctx context.Context, cfg Config) error {
	if strings.ContainsAny(cfg.Version+cfg.Commit, " \t\n'\"") {
		return fmt.Errorf("version %q and commit %q must not contain spaces or quotes (they go into -ldflags)", cfg.Version, cfg.Commit)
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", cfg.Out, err)
	}
	if err := removeStale(cfg.Out, cfg.Targets); err != nil {
		return err
	}
	var names []string
	for _, t := range cfg.Targets {
		fmt.Fprintf(cfg.Stdout, "distgen: building %s → %s\n", t, filepath.Join(cfg.Out, t.BinaryName()))
		if err := cfg.Exec(ctx, GoBuild(cfg, t)); err != nil {
			return fmt.Errorf("build %s: %w", t, err)
		}
		names = append(names, t.BinaryName())
	}
	if err := WriteSums(cfg.Out, names); err != nil {
		return err
	}
	fmt.Fprintf(cfg.Stdout, "distgen: wrote %s for %d binaries (version %s, commit %s)\n", filepath.Join(cfg.Out, SumsFile), len(names), cfg.Version, cfg.Commit)
	return nil
}

func removeStale(dir string, targets []Target) error {
	old, err := filepath.Glob(filepath.Join(dir, "inline-cache-*"))
	if err != nil {
		return err
	}
	for _, p := range old {
		keep := slices.ContainsFunc(targets, func(t Target) bool { return t.BinaryName() == filepath.Base(p) })
		if !keep {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("remove stale %s: %w", p, err)
			}
		}
	}
	return nil
}

// WriteSums writes dir/SHA256SUMS for the named files in dir, sorted by
// name, in the format of GNU sha256sum ("<hex>  <name>"), so
// `sha256sum -c SHA256SUMS` checks it too. It is written to a temp file and
// renamed, so a reader never sees half of it.
func WriteSums(dir string, names []string) error {
	names = slices.Sorted(slices.Values(names))
	var b strings.Builder
	for _, n := range names {
		sum, err := FileSHA256(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, n)
	}
	tmp, err := os.CreateTemp(dir, ".SHA256SUMS-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", SumsFile, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", SumsFile, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", SumsFile, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", SumsFile, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, SumsFile)); err != nil {
		return fmt.Errorf("write %s: %w", SumsFile, err)
	}
	return nil
}

// FileSHA256 is the hex SHA-256 of a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("checksum: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("checksum %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
