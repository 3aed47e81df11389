package app

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Version and Commit are set at link time by `make dist` and the release
// workflow:
//
//	-ldflags "-X github.com/inlinecache/action/internal/app.Version=v1.2.3
//	          -X github.com/inlinecache/action/internal/app.Commit=<sha>"
//
// Without them (go build, go install) the module version and the VCS
// revision Go records in the binary are used.
var (
	Version string
	Commit  string
)

// BuildInfo is what "inline-cache version" prints.
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
}

func (b BuildInfo) String() string {
	return fmt.Sprintf("inline-cache %s (commit %s, %s, %s/%s)", b.Version, b.Commit, b.GoVersion, b.OS, b.Arch)
}

// readBuildInfo prefers the link-time values and falls back to what the Go
// toolchain embedded; read is debug.ReadBuildInfo, injected for tests.
func readBuildInfo(read func() (*debug.BuildInfo, bool)) BuildInfo {
	b := BuildInfo{Version: "(devel)", Commit: "unknown", GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi, ok := read(); ok {
		if bi.Main.Version != "" {
			b.Version = bi.Main.Version
		}
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			b.Commit = rev
			if modified == "true" {
				b.Commit += "-dirty"
			}
		}
	}
	if Version != "" {
		b.Version = Version
	}
	if Commit != "" {
		b.Commit = Commit
	}
	return b
}

func runVersion(args []string, env Env) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageErr(fmt.Errorf("version: %w", err))
	}
	if fs.NArg() > 0 {
		return usageErr(fmt.Errorf("version takes no arguments, got %q", fs.Args()))
	}
	return printVersion(env.Stdout, readBuildInfo(debug.ReadBuildInfo), *asJSON)
}

func printVersion(w io.Writer, b BuildInfo, asJSON bool) error {
	if !asJSON {
		_, err := fmt.Fprintln(w, b)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(b)
}
