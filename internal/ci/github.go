package ci

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// GitHub is the GitHub Actions run, as build-push-action reads it.
type GitHub struct {
	ServerURL  string
	Repository string
	SHA        string
	Ref        string
	RunID      string
	RunAttempt string
	// PRHeadSHA is the pull request's head commit, set only when
	// DOCKER_DEFAULT_GIT_CONTEXT_PR_HEAD_REF=true asks to build it rather
	// than the merge commit.
	PRHeadSHA string
	// GitQuery is BUILDX_SEND_GIT_QUERY_AS_INPUT=true: buildx 0.29 and
	// later take the git context as ?ref=…&checksum=….
	GitQuery bool
	// EventName (GITHUB_EVENT_NAME), BaseRef (GITHUB_BASE_REF, or a merge
	// group's base_ref) and DefaultBranch (the event payload's
	// repository.default_branch) choose the branches whose images are
	// cache sources.
	EventName, BaseRef, DefaultBranch string
}

// detectGitHub reads the run from the runner's variables and, for a pull
// request's head commit, the event payload (GITHUB_EVENT_PATH); outside
// GitHub Actions it is empty.
func detectGitHub(getenv func(string) string, readFile func(string) ([]byte, error)) (GitHub, error) {
	if getenv("GITHUB_ACTIONS") != "true" {
		return GitHub{}, nil
	}
	server := strings.TrimRight(getenv("GITHUB_SERVER_URL"), "/")
	if server == "" {
		server = "https://github.com"
	}
	g := GitHub{
		ServerURL:  server,
		Repository: getenv("GITHUB_REPOSITORY"),
		SHA:        getenv("GITHUB_SHA"),
		Ref:        getenv("GITHUB_REF"),
		RunID:      getenv("GITHUB_RUN_ID"),
		RunAttempt: getenv("GITHUB_RUN_ATTEMPT"),
		GitQuery:   getenv("BUILDX_SEND_GIT_QUERY_AS_INPUT") == "true",
		EventName:  getenv("GITHUB_EVENT_NAME"),
		BaseRef:    getenv("GITHUB_BASE_REF"),
	}
	ev, evErr := readEvent(getenv("GITHUB_EVENT_PATH"), readFile)
	// The payload only adds cache sources, except for a pull request's
	// head commit, which cannot be built without it.
	g.DefaultBranch = ev.Repository.DefaultBranch
	if g.BaseRef == "" {
		g.BaseRef = ev.MergeGroup.BaseRef
	}
	if getenv("DOCKER_DEFAULT_GIT_CONTEXT_PR_HEAD_REF") == "true" && strings.HasPrefix(g.Ref, "refs/pull/") {
		if evErr != nil {
			return g, fmt.Errorf("DOCKER_DEFAULT_GIT_CONTEXT_PR_HEAD_REF=true: %w", evErr)
		}
		g.PRHeadSHA = ev.PullRequest.Head.SHA
	}
	return g, nil
}

// event is what is read of the event payload.
type event struct {
	PullRequest struct {
		Head struct {
			SHA string `json:"sha"`
		} `json:"head"`
	} `json:"pull_request"`
	Repository struct {
		DefaultBranch string `json:"default_branch"`
	} `json:"repository"`
	MergeGroup struct {
		BaseRef string `json:"base_ref"`
	} `json:"merge_group"`
}

// readEvent reads the event payload (GITHUB_EVENT_PATH).
func readEvent(path string, readFile func(string) ([]byte, error)) (event, error) {
	var ev event
	if path == "" {
		return ev, errors.New("the event payload is needed, but GITHUB_EVENT_PATH is not set")
	}
	raw, err := readFile(path)
	if err != nil {
		return ev, fmt.Errorf("read the event payload: %w", err)
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return event{}, fmt.Errorf("read the event payload %s: %w", path, err)
	}
	return ev, nil
}

// repoURL is the workflow repository's git URL.
func (g GitHub) repoURL() string {
	return fmt.Sprintf("%s/%s.git", g.ServerURL, g.Repository)
}

// commit is the commit the default context builds: the pull request's head
// when asked for, else the workflow's commit.
func (g GitHub) commit() string {
	if g.PRHeadSHA != "" {
		return g.PRHeadSHA
	}
	return g.SHA
}

// DefaultContext is build-push-action's git context of the workflow's
// commit (what {{defaultContext}} stands for) in buildx's fragment form
// (url#commit), or "" outside a run.
func (g GitHub) DefaultContext() string {
	if g.Repository == "" {
		return ""
	}
	pinned := g.commit()
	if pinned == "" {
		pinned = g.fullRef()
	}
	return g.repoURL() + "#" + pinned
}

func (g GitHub) fullRef() string {
	if g.Ref != "" && !strings.HasPrefix(g.Ref, "refs/") {
		return "refs/heads/" + g.Ref
	}
	return g.Ref
}

// QueryContext rewrites a context that starts with the default context
// (fragment form, perhaps with ":subdir") into buildx's query form
// (url?ref=…&checksum=…[&subdir=…]), as build-push-action sends it with
// BUILDX_SEND_GIT_QUERY_AS_INPUT on buildx 0.29 and later. Other contexts
// are returned as they are.
func (g GitHub) QueryContext(ctx string) string {
	def := g.DefaultContext()
	if def == "" || !strings.HasPrefix(ctx, def) {
		return ctx
	}
	sub, hasSub := strings.CutPrefix(ctx[len(def):], ":")
	if ctx != def && !hasSub {
		return ctx
	}
	out := g.repoURL() + "?ref="
	if ref := g.fullRef(); ref == "" || strings.HasPrefix(ref, "refs/pull/") {
		// A pull request's merge ref moves: only the commit is stable.
		out += g.commit()
	} else if out += ref; g.commit() != "" {
		out += "&checksum=" + g.commit()
	}
	if hasSub && sub != "" && sub != "." {
		out += "&subdir=" + sub
	}
	return out
}

// RunURL identifies the run as a provenance builder-id, as
// build-push-action sets it; "" outside a run.
func (g GitHub) RunURL() string {
	if g.Repository == "" || g.RunID == "" {
		return ""
	}
	u := fmt.Sprintf("%s/%s/actions/runs/%s", g.ServerURL, g.Repository, g.RunID)
	if g.RunAttempt != "" {
		u += "/attempts/" + g.RunAttempt
	}
	return u
}

// Host is the GitHub server's host name (for GIT_AUTH_TOKEN.<host>).
func (g GitHub) Host() string {
	h := strings.TrimPrefix(strings.TrimPrefix(g.ServerURL, "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	return h
}
