package builder

import (
	"debug/buildinfo"
	"encoding/json"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/docker/cli/cli/config/configfile"
)

// pluginReexecEnv is what the docker CLI sets when it runs a plugin; with
// it set buildx runs in plugin mode and expects the CLI's arguments.
const pluginReexecEnv = "DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND"

// systemPluginDirs are where the docker CLI looks for plugins after the
// user's own (docker/cli cli-plugins/manager, per platform).
func systemPluginDirs(getenv func(string) string) []string {
	if runtime.GOOS == "windows" {
		return []string{
			filepath.Join(getenv("ProgramData"), "Docker", "cli-plugins"),
			filepath.Join(getenv("ProgramFiles"), "Docker", "cli-plugins"),
		}
	}
	return []string{
		"/usr/local/lib/docker/cli-plugins",
		"/usr/local/libexec/docker/cli-plugins",
		"/usr/lib/docker/cli-plugins",
		"/usr/libexec/docker/cli-plugins",
	}
}

// pluginCandidates are the paths, in the docker CLI's order of preference,
// where "docker buildx" would find its plugin for a process with env:
// the config's cliPluginsExtraDirs, the config directory's cli-plugins
// (DOCKER_CONFIG, else ~/.docker), then the system directories.
func pluginCandidates(env []string, readFile func(string) ([]byte, error)) []string {
	getenv := func(k string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(env[i], k+"="); ok {
				return v
			}
		}
		return ""
	}
	cfgDir := getenv("DOCKER_CONFIG")
	if cfgDir == "" {
		home := getenv("HOME")
		if runtime.GOOS == "windows" {
			home = getenv("USERPROFILE")
		}
		if home != "" {
			cfgDir = filepath.Join(home, ".docker")
		}
	}
	var dirs []string
	if cfgDir != "" {
		if readFile != nil {
			if b, err := readFile(filepath.Join(cfgDir, "config.json")); err == nil {
				var cf configfile.ConfigFile
				// An unreadable config makes the CLI fail the same way
				// later; here it only means no extra directories.
				if json.Unmarshal(b, &cf) == nil {
					dirs = append(dirs, cf.CLIPluginsExtraDirs...)
				}
			}
		}
		dirs = append(dirs, filepath.Join(cfgDir, "cli-plugins"))
	}
	dirs = append(dirs, systemPluginDirs(getenv)...)
	name := "docker-buildx"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	out := make([]string, 0, len(dirs))
	for _, d := range dirs {
		if d != "" && filepath.IsAbs(d) {
			out = append(out, filepath.Join(d, name))
		}
	}
	return out
}

// EmbeddedVersion reads the buildx version a Go binary carries in its
// build information, without running it: "github.com/docker/buildx
// v0.38.2". It answers false for builds that do not say (a local build
// reports "(devel)" or a v0.0.0 pseudo-version); then buildx is asked.
func EmbeddedVersion(path string) (string, bool) {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return "", false
	}
	return versionFromBuildInfo(bi)
}

func versionFromBuildInfo(bi *buildinfo.BuildInfo) (string, bool) {
	if bi.Main.Path != "github.com/docker/buildx" {
		return "", false
	}
	v, err := ParseVersion(bi.Main.Version)
	if err != nil || v.Unknown || !strings.HasPrefix(bi.Main.Version, "v") {
		return "", false
	}
	return bi.Main.Path + " " + bi.Main.Version, true
}
