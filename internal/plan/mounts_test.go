package plan

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/ci"
	"github.com/inlinecache/action/internal/inputs"
)

const mountsDockerfile = `FROM golang:1.26 AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=cache,id=gomod,target=/go/pkg/mod,uid=1000 go build -v -o /out/app .
RUN --mount=type=cache,id=$X,target=/x true
FROM scratch
COPY --from=build /out/app /app
`

// renderMounts adds the helper builds a plan's mount cache spells, with
// a fixed nonce and snapshot.
func renderMounts(p Plan) string {
	var b strings.Builder
	b.WriteString(renderPlan(p))
	mc := p.Mounts
	if mc == nil {
		return b.String()
	}
	fmt.Fprintf(&b, "# mounts ref=%s sources=%s save=%v max=%d ns=%q platform=%q\n", mc.Ref, strings.Join(mc.Sources, ","), mc.Save, mc.MaxSize, mc.NS, mc.Platform)
	for _, m := range mc.Mounts {
		fmt.Fprintf(&b, "#   mount %s key=%q dir=%s tool=%s stage=%s\n", m.ID, m.Key, m.Dir, m.Tool, m.StageName)
	}
	snap := "ghcr.io/acme/app@sha256:" + strings.Repeat("a", 64)
	dirs := []string{mc.Mounts[0].Dir}
	for _, h := range []Helper{
		mc.RestoreBuild(snap, mc.Mounts[:1], "n0nce"),
		mc.CollectBuild(snap, mc.Mounts, dirs, "n0nce", false, nil, ""),
		mc.CollectBuild(snap, mc.Mounts, dirs, "n0nce", true, []bool{true, false}, "io.inlinecache.mounts=[]"),
		mc.CollectBuild("", mc.Mounts, nil, "n0nce", true, []bool{true, true}, "io.inlinecache.mounts=[]"),
	} {
		fmt.Fprintf(&b, "## helper %s (out %q, metadata %q)\n%s", h.File, h.OutDir, h.MetadataFile, h.Dockerfile)
		writeStep(&b, h.Step)
	}
	return b.String()
}

func TestMountPlans(t *testing.T) {
	t.Parallel()
	base := func(t *testing.T) inputs.Settings {
		return inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, Verify: inputs.VerifyStrict,
			TagAfterVerify: inputs.TagAfterAuto, Push: true,
			Tags: tags(t, "ghcr.io/acme/app:main", "ghcr.io/acme/app:sha-1234"),
			CacheSources: inputs.CacheSources{BranchTagTemplate: ci.DefaultBranchTag,
				Mounts: inputs.CacheMounts{Mode: inputs.MountsRegistry, MaxSize: 2e9}}}
	}
	dockerDriver := BuildxBackend([]string{"/usr/bin/docker", "buildx"}, "default", "docker", nil)
	for _, tc := range []struct {
		name string
		b    Backend
		mod  func(*inputs.Settings)
	}{
		{"mounts-registry", docker, func(s *inputs.Settings) {
			s.BuildArgs = []string{"BUILDKIT_CACHE_MOUNT_NS=team"}
			s.Platforms = []string{"linux/amd64"}
		}},
		{"mounts-registry-pull-request", docker, func(s *inputs.Settings) {
			s.Tags = tags(t, "ghcr.io/acme/app:pr-7")
			s.FromBranches = true
			s.GitHub = ci.GitHub{Repository: "acme/app", EventName: "pull_request", BaseRef: "develop", DefaultBranch: "main"}
		}},
		{"mounts-registry-docker-driver", dockerDriver, func(s *inputs.Settings) {}},
		{"mounts-registry-not-pushed", docker, func(s *inputs.Settings) { s.Push = false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := base(t)
			tc.mod(&s)
			p, err := New(s, tc.b, "/tmp/ic", WithDockerfile([]byte(mountsDockerfile)))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, renderMounts(p))
		})
	}
}

// What keeps cache-mounts from a build is a note (or, for docker build
// without buildx, a refusal naming the input); the build is planned as
// without it.
func TestMountPlanBadInput(t *testing.T) {
	t.Parallel()
	on := inputs.CacheMounts{Mode: inputs.MountsRegistry, MaxSize: 1}
	for _, tc := range []struct {
		name, tags, df string
		platforms      []string
		note           string
		mounts         int
	}{
		{"no tag", "", mountsDockerfile, nil, "no tag is given", 0},
		{"analysis fails", "r.example/a:main", "FROM scratch AS 1\n", nil, "the Dockerfile's stages could not be read", 0},
		{"no mounts", "r.example/a:main", "FROM debian\nRUN true\n", nil, "have no cache mount to keep", 0},
		{"tag clash", "r.example/a:main,r.example/a:main-mounts", mountsDockerfile, nil, "the snapshot tag r.example/a:main-mounts is also one of the image's tags", 0},
		{"variable key", "r.example/a:main", mountsDockerfile, nil, "its key cannot be reproduced: the cache mount's key uses $X", 2},
		{"uid on two platforms", "r.example/a:main", mountsDockerfile, []string{"linux/amd64", "linux/arm64"}, "cache mount gomod (stage build, line 4) is not kept: with uid, gid or mode BuildKit keeps one per platform", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, Push: tc.tags != "", Verify: inputs.VerifyStrict, Platforms: tc.platforms,
				CacheSources: inputs.CacheSources{BranchTagTemplate: ci.DefaultBranchTag, Mounts: on}}
			if tc.tags != "" {
				s.Tags = tags(t, strings.Split(tc.tags, ",")...)
			}
			p, err := New(s, docker, "/tmp/ic", WithDockerfile([]byte(tc.df)))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(p.Notes, func(n string) bool {
				return strings.Contains(n, "cache-mounts registry: ") && strings.Contains(n, tc.note)
			}) {
				t.Errorf("notes %q: want one saying %q", p.Notes, tc.note)
			}
			got := 0
			if p.Mounts != nil {
				got = len(p.Mounts.Mounts)
			}
			if got != tc.mounts {
				t.Errorf("%d mounts kept, want %d", got, tc.mounts)
			}
			if (p.Mounts == nil) != !slices.ContainsFunc(p.Steps, func(st Step) bool { return st.Kind == RestoreMounts }) {
				t.Errorf("restore step planned without mounts, or mounts without it: %+v", p.Steps)
			}
		})
	}
	s := inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, CacheSources: inputs.CacheSources{Mounts: on}}
	_, err := New(s, legacy, "/tmp/ic")
	var ie *inputs.Error
	if err == nil || !errors.As(err, &ie) || ie.Input != inputs.CacheMountsInput || !strings.Contains(err.Error(), "docker build alone would load every snapshot") {
		t.Errorf("docker build without buildx: %v, want a refusal of cache-mounts saying why", err)
	}
}
