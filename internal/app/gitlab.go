package app

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"

	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/report"
)

// onGitLab reports whether we run in a GitLab CI job.
func onGitLab(env Env) bool { return env.Getenv("GITLAB_CI") == "true" }

// gitlabDefaults fills tags and cache-from from the job's predefined
// variables when the user gave none: the branch's tag in the project
// registry, and as cache sources that tag plus the default branch's, so the
// first build of a new branch starts from the default branch's cache.
func gitlabDefaults(vals inputs.Values, env Env) []string {
	if !onGitLab(env) {
		return nil
	}
	image := strings.TrimSpace(env.Getenv("CI_REGISTRY_IMAGE"))
	slug := env.Getenv("CI_COMMIT_REF_SLUG")
	if image == "" || slug == "" {
		return nil
	}
	var notes []string
	branch := image + ":" + slug
	// An output that names its image is the user's choice of where to
	// push: a default tag would replace that name (buildx gives tags
	// precedence over name=).
	if len(inputs.OutputNames(vals.List(inputs.Outputs))) == 0 && vals.DefaultList(inputs.Tags, []string{branch}) {
		notes = append(notes, fmt.Sprintf("tags: %s (GitLab: CI_REGISTRY_IMAGE:CI_COMMIT_REF_SLUG)", branch))
	}
	from := []string{branch}
	if def := refSlug(env.Getenv("CI_DEFAULT_BRANCH")); def != "" && def != slug {
		from = append(from, image+":"+def)
	}
	if vals.DefaultList(inputs.CacheFrom, from) {
		notes = append(notes, fmt.Sprintf("cache-from: %s (GitLab: this branch, then the default branch)", strings.Join(from, ", ")))
	}
	return notes
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]`)

// refSlug is GitLab's CI_COMMIT_REF_SLUG of a ref name (Gitlab::Utils
// slugify): lower case, each character but a-z and 0-9 replaced by "-"
// (runs are not squeezed: "a//b" is "a--b"), at most 63 bytes, no "-" at
// either end.
func refSlug(ref string) string {
	s := nonSlug.ReplaceAllString(strings.ToLower(ref), "-")
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "-")
}

// gitlabLogin stores CI_REGISTRY_USER/CI_REGISTRY_PASSWORD for CI_REGISTRY
// in the docker config (through docker/cli, so credential helpers and the
// file format are honoured) when it has no credentials for that registry
// yet, or only an earlier job's token of the same user, so that buildx can
// push and the verifier can read. The password is
// never printed or put on a command line.
func gitlabLogin(sink report.Log, env Env) error {
	if !onGitLab(env) {
		return nil
	}
	reg, user, pass := env.Getenv("CI_REGISTRY"), env.Getenv("CI_REGISTRY_USER"), env.Getenv("CI_REGISTRY_PASSWORD")
	if reg == "" || user == "" || pass == "" {
		return nil
	}
	dir := env.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home := env.Getenv("HOME")
		if home == "" {
			return fmt.Errorf("registry login to %s: neither DOCKER_CONFIG nor HOME is set", reg)
		}
		dir = filepath.Join(home, ".docker")
	}
	cf, err := config.Load(dir)
	if err != nil {
		return fmt.Errorf("registry login to %s: %w", reg, err)
	}
	have, err := cf.GetAuthConfig(reg)
	if err != nil {
		return fmt.Errorf("registry login to %s: read credentials: %w", reg, err)
	}
	// Credentials of another user (a deploy token, a login of your own)
	// stay. The job user's are replaced: CI_REGISTRY_PASSWORD is the job's
	// token, valid only while that job runs, so one a previous job left in
	// a shared config (shell executor) is stale.
	stale := have.Username == user && have.Password != pass && have.IdentityToken == "" && have.RegistryToken == ""
	if (have.Username != "" || have.Password != "" || have.IdentityToken != "" || have.RegistryToken != "") && !stale {
		sink.Infof("registry login: the docker config already has credentials for %s; CI_REGISTRY_USER is not used", reg)
		return nil
	}
	if err := cf.GetCredentialsStore(reg).Store(types.AuthConfig{ServerAddress: reg, Username: user, Password: pass}); err != nil {
		return fmt.Errorf("registry login to %s: store credentials: %w", reg, err)
	}
	if err := cf.Save(); err != nil {
		return fmt.Errorf("registry login to %s: save %s: %w", reg, cf.Filename, err)
	}
	if stale {
		sink.Infof("registry login: replaced an earlier job's token with this job's CI_REGISTRY_USER credentials for %s in %s", reg, cf.Filename)
		return nil
	}
	sink.Infof("registry login: stored CI_REGISTRY_USER's credentials for %s in %s", reg, cf.Filename)
	return nil
}
