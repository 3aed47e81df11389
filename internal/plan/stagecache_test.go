package plan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/ci"
	"github.com/inlinecache/action/internal/inputs"
)

// twoBuilders has two builder stages with steps, one depending on the
// other, and an unnamed one.
const twoBuilders = `FROM golang:1.26 AS deps
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download

FROM deps AS build
COPY . .
RUN go build -o /out/server ./cmd/server

FROM debian:bookworm-slim
RUN echo unnamed > /x

FROM debian:bookworm-slim
COPY --from=build /out/server /usr/local/bin/server
COPY --from=2 /x /x
`

// renderPlan draws every step of a plan, one block each, with its kind.
func renderPlan(p Plan) string {
	var b strings.Builder
	for _, n := range p.Notes {
		b.WriteString("# note: " + n + "\n")
	}
	for _, st := range p.Steps {
		fmt.Fprintf(&b, "# %s", st.Kind)
		if st.Stage != "" {
			fmt.Fprintf(&b, " stage=%s", st.Stage)
		}
		if st.Cache != "" {
			fmt.Fprintf(&b, " cache=%s", st.Cache)
		}
		for _, t := range st.Tags {
			fmt.Fprintf(&b, " %s", t.Raw)
		}
		b.WriteString("\n")
		if st.Path != "" {
			writeStep(&b, st)
		}
	}
	return b.String()
}

func TestStageCachePlans(t *testing.T) {
	t.Parallel()
	base := func(t *testing.T) inputs.Settings {
		return inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, Verify: inputs.VerifyStrict,
			TagAfterVerify: inputs.TagAfterAuto, Push: true,
			Tags:         tags(t, "ghcr.io/acme/app:main", "ghcr.io/acme/app:sha-1234"),
			CacheSources: inputs.CacheSources{BranchTagTemplate: ci.DefaultBranchTag}}
	}
	pr := func(s *inputs.Settings) {
		s.Tags = tags(t, "ghcr.io/acme/app:pr-7")
		s.FromBranches = true
		s.GitHub = ci.GitHub{Repository: "acme/app", EventName: "pull_request", BaseRef: "develop", DefaultBranch: "main"}
	}
	for _, tc := range []struct {
		name string
		mod  func(*inputs.Settings)
	}{
		{"stages-images", func(s *inputs.Settings) { s.CacheStages = inputs.StagesImages }},
		{"stages-images-pull-request", func(s *inputs.Settings) { s.CacheStages = inputs.StagesImages; pr(s) }},
		{"stages-registry", func(s *inputs.Settings) { s.CacheStages = inputs.StagesRegistry }},
		{"stages-registry-pull-request", func(s *inputs.Settings) { s.CacheStages = inputs.StagesRegistry; pr(s) }},
		{"stages-images-not-pushed", func(s *inputs.Settings) { s.CacheStages = inputs.StagesImages; s.Push = false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := base(t)
			tc.mod(&s)
			p, err := New(s, docker, "/tmp/ic", WithDockerfile([]byte(twoBuilders)))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, renderPlan(p))
		})
	}
}

// Whatever keeps a stage from being cached is a note, and the image's
// build is planned as without cache-stages.
func TestStageCacheBadInput(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 120)
	for _, tc := range []struct {
		name   string
		mode   inputs.CacheStages
		tag    string
		df     string
		target string
		notes  []string // each must be a note
		stages []string // stage builds planned
		cache  string   // registry cache planned
	}{
		{"analysis fails", inputs.StagesImages, "r.example/a:main", "FROM scratch AS 1\n", "",
			[]string{"cache-stages images: the Dockerfile's stages could not be read"}, nil, ""},
		// deps is build's base: its steps are the image's layers.
		{"target is a builder stage", inputs.StagesImages, "r.example/a:main", twoBuilders, "build",
			[]string{`cache-stages images: the target stage "build" is the image: its steps and its base stages' are in the image's inline cache, and it copies from no builder stage with steps`}, nil, ""},
		{"stage tag clashes with a tag", inputs.StagesImages, "r.example/a:main,r.example/a:main-stage-deps", twoBuilders, "",
			[]string{`cache-stages images: stage "deps": its cache tag r.example/a:main-stage-deps is also one of the image's tags`}, []string{"build"}, ""},
		{"tag too long", inputs.StagesImages, "r.example/a:" + long, twoBuilders, "",
			[]string{`cache-stages images: stage "deps": the tag ` + long + `-stage-deps would be 131 characters`, `cache-stages images: stage "build": the tag ` + long + `-stage-build would be 132`}, nil, ""},
		{"registry tag clash", inputs.StagesRegistry, "r.example/a:main,r.example/a:main-buildcache", twoBuilders, "",
			[]string{"cache-stages registry: the cache tag r.example/a:main-buildcache is also one of the image's tags"}, nil, ""},
		{"registry single stage", inputs.StagesRegistry, "r.example/a:main", "FROM debian\nRUN true\n", "",
			[]string{"cache-stages registry: the Dockerfile has no builder stage with steps"}, nil, "r.example/a:main-buildcache"},
		{"every builder command after the sources", inputs.StagesRegistry, "r.example/a:main", sourcesFirst, "",
			[]string{"cache-stages registry: it cannot make this Dockerfile's rebuilds faster than cache-stages off: every command of the builder stages (line 4 `RUN go mod download`, line 5 `RUN go build -o /app .`) comes after the whole build context is copied in"}, nil, "r.example/a:main-buildcache"},
		{"images: every builder command after the sources", inputs.StagesImages, "r.example/a:main", sourcesFirst, "",
			[]string{"cache-stages images: it cannot make this Dockerfile's rebuilds faster"}, []string{"build"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, Verify: inputs.VerifyStrict, Push: true,
				Tags: tags(t, strings.Split(tc.tag, ",")...), Target: tc.target, CacheSources: inputs.CacheSources{CacheStages: tc.mode}}
			p, err := New(s, docker, "/tmp/ic", WithDockerfile([]byte(tc.df)))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.notes {
				found := false
				for _, n := range p.Notes {
					found = found || strings.HasPrefix(n, w)
				}
				if !found {
					t.Errorf("no note starts with %q: %q", w, p.Notes)
				}
			}
			var built []string
			builds := 0
			for _, st := range p.Steps {
				if st.Kind == Build {
					builds++
					if st.Stage != "" {
						built = append(built, st.Stage)
					}
				}
			}
			if builds != len(tc.stages)+1 || strings.Join(built, ",") != strings.Join(tc.stages, ",") {
				t.Errorf("stage builds = %q of %d builds, want %q and the image's", built, builds, tc.stages)
			}
			if p.RegistryCache != tc.cache {
				t.Errorf("RegistryCache = %q, want %q", p.RegistryCache, tc.cache)
			}
		})
	}
}

// sourcesFirst copies the sources before its builder stage's commands.
const sourcesFirst = "FROM golang:1.26 AS build\nWORKDIR /src\nCOPY . .\nRUN go mod download\nRUN go build -o /app .\nFROM debian\nCOPY --from=build /app /app\n"

func TestStageCacheRefusals(t *testing.T) {
	t.Parallel()
	s := inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, Verify: inputs.VerifyStrict, Push: true, Tags: tags(t, "r.example/a:main")}
	dockerDriver := BuildxBackend([]string{"/usr/bin/docker", "buildx"}, "default", "docker", nil)
	for _, tc := range []struct {
		mode inputs.CacheStages
		b    Backend
		want string
	}{
		{inputs.StagesRegistry, dockerDriver, `input "cache-stages": builder "default" (driver docker) cannot export a registry cache (type=registry,mode=max): use cache-stages images, or use a docker-container or remote builder`},
		{inputs.StagesImages, legacy, `input "cache-stages": buildx is not installed, and docker build without it cannot build stage cache images`},
	} {
		s.CacheStages = tc.mode
		_, err := New(s, tc.b, "/tmp/ic")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s on %s: err = %v, want %s", tc.mode, tc.b.Where, err, tc.want)
		}
	}
	// images works on the docker driver: the inline cache is all it uses.
	s.CacheStages = inputs.StagesImages
	if _, err := New(s, dockerDriver, "/tmp/ic"); err != nil {
		t.Errorf("images on the docker driver: %v", err)
	}
}
