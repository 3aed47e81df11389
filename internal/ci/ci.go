// Package ci reads the CI job the command runs in, from its variables:
// GitHub Actions and GitLab CI side by side. It decides nothing; the
// settings loader applies what a job implies.
package ci

import (
	"regexp"
	"strings"
)

// Job is the CI job; each part is zero outside its CI.
type Job struct {
	GitHub GitHub
	GitLab GitLab
}

// Detect reads the job. readFile reads the GitHub event payload, needed
// only for DOCKER_DEFAULT_GIT_CONTEXT_PR_HEAD_REF.
func Detect(getenv func(string) string, readFile func(string) ([]byte, error)) (Job, error) {
	gh, err := detectGitHub(getenv, readFile)
	return Job{GitHub: gh, GitLab: detectGitLab(getenv)}, err
}

// GitLab is the GitLab CI job's predefined variables that matter here.
type GitLab struct {
	// On is GITLAB_CI=true.
	On bool
	// RegistryImage (CI_REGISTRY_IMAGE), RefSlug (CI_COMMIT_REF_SLUG) and
	// DefaultBranch (CI_DEFAULT_BRANCH) give the default tags and cache
	// sources.
	RegistryImage, RefSlug, DefaultBranch string
	// Registry, User and Password are the job's registry login
	// (CI_REGISTRY, CI_REGISTRY_USER, CI_REGISTRY_PASSWORD).
	Registry, User, Password string
}

func detectGitLab(getenv func(string) string) GitLab {
	if getenv("GITLAB_CI") != "true" {
		return GitLab{}
	}
	return GitLab{
		On:            true,
		RegistryImage: strings.TrimSpace(getenv("CI_REGISTRY_IMAGE")),
		RefSlug:       getenv("CI_COMMIT_REF_SLUG"),
		DefaultBranch: getenv("CI_DEFAULT_BRANCH"),
		Registry:      getenv("CI_REGISTRY"),
		User:          getenv("CI_REGISTRY_USER"),
		Password:      getenv("CI_REGISTRY_PASSWORD"),
	}
}

// BranchImage is the branch's image in the project registry
// (CI_REGISTRY_IMAGE:CI_COMMIT_REF_SLUG), "" when the job does not say.
func (g GitLab) BranchImage() string {
	if g.RegistryImage == "" || g.RefSlug == "" {
		return ""
	}
	return g.RegistryImage + ":" + g.RefSlug
}

// CacheImages are the branch's image, then the default branch's, so the
// first build of a new branch starts from the default branch's cache.
func (g GitLab) CacheImages() []string {
	branch := g.BranchImage()
	if branch == "" {
		return nil
	}
	out := []string{branch}
	for _, b := range g.cacheBranches() {
		out = append(out, g.RegistryImage+":"+RefSlug(b))
	}
	return out
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]`)

// RefSlug is GitLab's CI_COMMIT_REF_SLUG of a ref name (Gitlab::Utils
// slugify): lower case, each character but a-z and 0-9 replaced by "-"
// (runs are not squeezed: "a//b" is "a--b"), at most 63 bytes, no "-" at
// either end.
func RefSlug(ref string) string {
	s := nonSlug.ReplaceAllString(strings.ToLower(ref), "-")
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "-")
}
