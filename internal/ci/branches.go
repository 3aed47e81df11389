package ci

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Cache sources from other branches: a build on a branch that has never
// been pushed (a pull request's first build, a new branch) imports the
// image of the branch it will merge into and of the default branch, so
// it starts from their cache instead of from nothing. Both CIs list the
// branches here (cacheBranches, CacheBranches); each names a branch's
// image by its own convention (GitLab: CI_COMMIT_REF_SLUG in the project
// registry; GitHub: docker/metadata-action's type=ref,event=branch tag,
// BranchTag, in the pushed repositories).

// cacheBranches: the default branch, unless this is it.
func (g GitLab) cacheBranches() []string {
	if def := g.DefaultBranch; def != "" && RefSlug(def) != g.RefSlug {
		return []string{def}
	}
	return nil
}

// CacheBranches: on a pull request (or a merge queue's group), the base
// branch, then the default branch; on a push to a branch or tag other
// than the default branch, the default branch. The default branch comes
// from the event payload (repository.default_branch); without a payload
// only the base branch is known.
func (g GitHub) CacheBranches() []string {
	var out []string
	add := func(b string) {
		b = strings.TrimPrefix(b, "refs/heads/")
		if b != "" && b != g.branch() && !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	switch g.EventName {
	case "pull_request", "pull_request_target", "merge_group":
		add(g.BaseRef)
		add(g.DefaultBranch)
	default:
		if strings.HasPrefix(g.Ref, "refs/heads/") || strings.HasPrefix(g.Ref, "refs/tags/") {
			add(g.DefaultBranch)
		}
	}
	return out
}

// branch is the branch the run builds ("" for a tag or a pull request's
// merge ref).
func (g GitHub) branch() string {
	if b, ok := strings.CutPrefix(g.Ref, "refs/heads/"); ok {
		return b
	}
	return ""
}

// DefaultBranchTag is the branch-to-tag template when none is given:
// docker/metadata-action's type=ref,event=branch.
const DefaultBranchTag = "{{branch}}"

var (
	nonTag = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)
	// validTag is the OCI distribution spec's tag grammar.
	validTag = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
)

// BranchTag is the tag docker/metadata-action gives branch's image with
// tag template tmpl (type=ref,event=branch and its prefix/suffix around
// {{branch}}): {{branch}} replaced by the branch name, then each run of
// characters other than letters, digits, '.', '_' and '-' replaced by one
// '-' (metadata-action's sanitizeTag): "feature/login" is
// "feature-login". A result that is not a valid tag (longer than 128, or
// starting with '.' or '-') is an error.
func BranchTag(tmpl, branch string) (string, error) {
	tag := nonTag.ReplaceAllString(strings.ReplaceAll(tmpl, "{{branch}}", branch), "-")
	if !validTag.MatchString(tag) {
		return tag, fmt.Errorf("%q is not a valid image tag: at most 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", tag)
	}
	return tag, nil
}
