package stages

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// toolUse is one command line of a known tool: its cache directories as
// the tool documents them, and what turns its cache off.
type toolUse struct {
	tool    string
	dirs    []cacheDir
	defeats []string
	// dropWithMount are flags that keep the cache out of the layer, which
	// a cache mount does anyway: with the mount they only lose it.
	dropWithMount []string
}

// toolCommand reads one simple command (its words, after assignments and
// wrappers), with env the stage's environment plus the command's own
// assignments and mounted the cache mounts' targets.
func toolCommand(words []string, env runState, mounted []string) toolUse {
	name := path.Base(words[0])
	args := words[1:]
	if strings.HasPrefix(name, "python") && len(args) >= 2 && args[0] == "-m" && strings.HasPrefix(args[1], "pip") {
		name, args = "pip", args[2:]
	}
	sub := firstArg(args)
	switch {
	case name == "go" && slices.Contains([]string{"build", "test", "install", "run", "vet"}, sub):
		u := toolUse{tool: "go " + sub, dirs: []cacheDir{goBuildCache(env), goModCache(env)}}
		if slices.Contains(args, "-a") {
			u.defeats = append(u.defeats, fmt.Sprintf("go %s -a rebuilds every package and ignores the build cache, with or without a mount: drop -a", sub))
		}
		if v, ok := env.Get("GOCACHE"); ok && v == "off" {
			u.defeats = append(u.defeats, "GOCACHE=off turns Go's build cache off: unset it")
		}
		return u
	case name == "go" && sub == "mod" && len(args) > 1 && args[1] == "download":
		return toolUse{tool: "go mod download", dirs: []cacheDir{goModCache(env)}}
	case (name == "npm" || name == "pnpm") && slices.Contains([]string{"ci", "install", "i", "add", "fetch"}, sub):
		return nodeUse(name, sub, args, env, mounted)
	case name == "yarn" && (sub == "" || sub == "install" || sub == "add"):
		dir := cacheDir{dir: envOr(env, "YARN_CACHE_FOLDER", "/usr/local/share/.cache/yarn"), keeps: "yarn's cache (downloaded packages)"}
		if !isRoot(env.user) && env.user != "" {
			dir.dir = envOr(env, "YARN_CACHE_FOLDER", home(env)+"/.cache/yarn")
		}
		return toolUse{tool: strings.TrimSpace("yarn " + sub), dirs: []cacheDir{dir}}
	case (name == "pip" || name == "pip3") && sub == "install":
		u := toolUse{tool: "pip install", dirs: []cacheDir{{
			dir:   envOr(env, "PIP_CACHE_DIR", xdg(env, "XDG_CACHE_HOME", ".cache")+"/pip"),
			keeps: "pip's cache (downloaded and built wheels)"}}}
		if slices.Contains(args, "--no-cache-dir") {
			if covered(u.dirs[0].dir, mounted) {
				u.defeats = append(u.defeats, "pip install --no-cache-dir under a cache mount leaves the mount empty: drop --no-cache-dir (the mount is not part of the layer)")
			} else {
				u.dropWithMount = append(u.dropWithMount, "--no-cache-dir")
			}
		}
		if v, ok := env.Get("PIP_NO_CACHE_DIR"); ok && v != "" && v != "0" && !strings.EqualFold(v, "false") && !strings.EqualFold(v, "off") && !strings.EqualFold(v, "no") {
			u.defeats = append(u.defeats, "PIP_NO_CACHE_DIR turns pip's cache off: unset it where a cache mount keeps the cache")
		}
		return u
	case name == "cargo" && slices.Contains([]string{"build", "test", "install", "fetch"}, sub):
		cargoHome := "/usr/local/cargo"
		if !strings.Contains(env.image, "rust") {
			cargoHome = home(env) + "/.cargo"
		}
		return toolUse{tool: "cargo " + sub, dirs: []cacheDir{{
			dir:   envOr(env, "CARGO_HOME", cargoHome) + "/registry",
			keeps: "the registry of downloaded crates (a mount on the target directory would keep compiled crates too, but then the binary must be copied out in the same RUN)"}}}
	case name == "mvn" || name == "mvnw":
		return toolUse{tool: "mvn", dirs: []cacheDir{{dir: home(env) + "/.m2", keeps: "the local Maven repository (downloaded artifacts)"}}}
	case name == "gradle" || name == "gradlew":
		return toolUse{tool: "gradle", dirs: []cacheDir{{dir: envOr(env, "GRADLE_USER_HOME", home(env)+"/.gradle"), keeps: "Gradle's caches (downloaded dependencies, the build cache)"}}}
	}
	return toolUse{}
}

// nodeUse is npm's or pnpm's install.
func nodeUse(name, sub string, args []string, env runState, mounted []string) toolUse {
	if name == "pnpm" {
		store := xdg(env, "XDG_DATA_HOME", ".local/share") + "/pnpm/store"
		if h, ok := env.Get("PNPM_HOME"); ok && h != "" {
			store = h + "/store"
		}
		return toolUse{tool: "pnpm " + sub, dirs: []cacheDir{{dir: store, keeps: "pnpm's store (downloaded packages)"}}}
	}
	dir := cacheDir{dir: home(env) + "/.npm", keeps: "npm's cache (downloaded packages: after a lockfile change only new ones are fetched)"}
	for _, k := range []string{"npm_config_cache", "NPM_CONFIG_CACHE"} {
		if v, ok := env.Get(k); ok && v != "" {
			dir.dir = v
		}
	}
	u := toolUse{tool: "npm " + sub, dirs: []cacheDir{dir}}
	for i, a := range args {
		v, ok := strings.CutPrefix(a, "--cache=")
		if !ok && a == "--cache" && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if ok && !covered(path.Clean(v), mounted) && len(mounted) > 0 {
			u.defeats = append(u.defeats, fmt.Sprintf("npm %s --cache %s puts npm's cache outside the cache mounts (%s): point --cache at the mount", sub, v, strings.Join(mounted, ", ")))
		}
		if ok {
			u.dirs[0].dir = path.Clean(v)
		}
	}
	return u
}

// goBuildCache is GOCACHE as go env computes it.
func goBuildCache(env runState) cacheDir {
	return cacheDir{dir: envOr(env, "GOCACHE", xdg(env, "XDG_CACHE_HOME", ".cache")+"/go-build"),
		keeps: "Go's build cache (compiled packages: a rebuild compiles only what changed)"}
}

// goModCache is GOMODCACHE as go env computes it: GOPATH's first entry
// /pkg/mod; the golang images set GOPATH=/go, elsewhere it is ~/go.
func goModCache(env runState) cacheDir {
	gopath := home(env) + "/go"
	if strings.Contains(env.image, "golang") {
		gopath = "/go"
	}
	if v, ok := env.Get("GOPATH"); ok && v != "" {
		gopath, _, _ = strings.Cut(v, ":")
	}
	return cacheDir{dir: envOr(env, "GOMODCACHE", gopath+"/pkg/mod"),
		keeps: "the module cache (downloaded modules)"}
}

// home is the user's home: HOME if set, /root for root, else
// /home/<user> as useradd makes it.
func home(env runState) string {
	if h, ok := env.Get("HOME"); ok && h != "" {
		return path.Clean(h)
	}
	u, _, _ := strings.Cut(env.user, ":")
	if u == "" || isRoot(u) {
		return "/root"
	}
	return "/home/" + u
}

// xdg is an XDG base directory: the variable if set, else under home.
func xdg(env runState, key, under string) string {
	if v, ok := env.Get(key); ok && v != "" {
		return path.Clean(v)
	}
	return home(env) + "/" + under
}

func envOr(env runState, key, def string) string {
	if v, ok := env.Get(key); ok && v != "" {
		return path.Clean(v)
	}
	return def
}

// firstArg is the first word that is not a flag (the subcommand).
func firstArg(args []string) string {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return ""
}
