package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/inputs"
)

const goService = `# syntax=docker/dockerfile:1
ARG GO_VERSION=1.24
FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/server ./cmd/server

FROM debian:bookworm-slim
COPY --from=build /out/server /usr/local/bin/server
`

func TestStageWarning(t *testing.T) {
	t.Parallel()
	pushed := func(t *testing.T) inputs.Settings {
		return inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, Verify: inputs.VerifyStrict,
			Push: true, Tags: tags(t, "ghcr.io/acme/app:main", "registry.example/other:main")}
	}
	const head = `multi-stage build: the inline cache holds only the layers of the image (stage "#1"); builder stage "build" (5 steps: line 6 ` + "`RUN go mod download`" + `, line 8 ` + "`RUN CGO_ENABLED=0 go build -trimpath -ldflags=\"-s -w\" -o /o…`" + `) never get layers in it, so on a cold builder every one of their steps re-runs as soon as one of their inputs changes. `
	const want = head + "To keep `RUN go mod download` cached across source changes, set cache-stages: registry (one mode=max cache at ghcr.io/acme/app:main-buildcache); see docs/stage-caches.md for the measured trade-off"
	for _, tc := range []struct {
		name string
		mod  func(*inputs.Settings)
		df   string
		want []string // the notes about stages
	}{
		{"builder stage", func(*inputs.Settings) {}, goService, []string{want}},
		{"sources copied first", func(*inputs.Settings) {}, strings.Replace(goService, "COPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\n", "COPY . .\nRUN go mod download\n", 1),
			[]string{"multi-stage build: the inline cache holds only the layers of the image (stage \"#1\"); builder stage \"build\" (4 steps: line 6 `RUN go mod download`, line 7 `RUN CGO_ENABLED=0 go build -trimpath -ldflags=\"-s -w\" -o /o…`) never get layers in it, so on a cold builder every one of their steps re-runs as soon as one of their inputs changes. A stage cache would keep none of their commands: each comes after the build context is copied in, so any source change re-runs it. Copy the dependency files and install them first"}},
		{"cache-stages set", func(s *inputs.Settings) { s.CacheStages = inputs.StagesImages }, goService,
			[]string{`cache-stages images: the image copies from builder stage "build" (COPY --from): on a cold builder BuildKit checks a cached COPY --from`}},
		{"cache-stages registry", func(s *inputs.Settings) { s.CacheStages = inputs.StagesRegistry }, goService, nil},
		{"single stage", func(*inputs.Settings) {}, "FROM debian\nRUN apt-get update\n", nil},
		{"not pushed", func(s *inputs.Settings) { s.Push = false }, goService, nil},
		{"no-cache", func(s *inputs.Settings) { s.NoCache = true }, goService, nil},
		{"registry cache with mode=max", func(s *inputs.Settings) {
			s.CacheTo = entries(t, "type=registry,ref=ghcr.io/acme/app:buildcache,mode=max")
		}, goService, []string{"cache-to: mode=max applies to the type=registry export only"}},
		{"target is the builder", func(s *inputs.Settings) { s.Target = "build" }, goService, nil},
		{"unreadable Dockerfile", func(*inputs.Settings) {}, "FROM scratch AS 1\n", []string{`stage analysis skipped: read the Dockerfile's instructions:`}},
		{"missing target", func(s *inputs.Settings) { s.Target = "release" }, goService, []string{`stage analysis skipped: target stage "release" is not in the Dockerfile`}},
		{"no Dockerfile given", func(*inputs.Settings) {}, "", nil},
		{"newer syntax", func(*inputs.Settings) {}, "# syntax=docker/dockerfile:1.99\nFROM scratch\n", []string{"stage analysis: # syntax=docker/dockerfile:1.99 is newer than"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := pushed(t)
			tc.mod(&s)
			var opts []Option
			if tc.df != "" {
				opts = append(opts, WithDockerfile([]byte(tc.df)))
			}
			p, err := New(s, docker, t.TempDir(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			// The cache mount advice has its own tests.
			p.Notes = slices.DeleteFunc(p.Notes, func(n string) bool { return strings.HasPrefix(n, "cache mounts: ") })
			if len(p.Notes) != len(tc.want) {
				t.Fatalf("notes = %q, want %d: %q", p.Notes, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(p.Notes[i], w) {
					t.Errorf("note %d =\n%s\nwant it to start with\n%s", i, p.Notes[i], w)
				}
			}
			if (tc.df != "") != (p.Stages != nil) && !strings.Contains(tc.name, "unreadable") && !strings.Contains(tc.name, "missing") {
				t.Errorf("Stages = %v for a Dockerfile %q", p.Stages, tc.df)
			}
		})
	}
}

// A builder that cannot export cache (buildx's docker driver) is told to
// use images, which it can do.
func TestStageWarningWithoutCacheExport(t *testing.T) {
	t.Parallel()
	s := inputs.Settings{Context: ".", CacheMethod: inputs.MethodAuto, Verify: inputs.VerifyStrict, Push: true, Tags: tags(t, "ghcr.io/acme/app:main")}
	dockerDriver := BuildxBackend([]string{"/usr/bin/docker", "buildx"}, "default", "docker", nil)
	p, err := New(s, dockerDriver, t.TempDir(), WithDockerfile([]byte(goService)))
	if err != nil {
		t.Fatal(err)
	}
	want := "set cache-stages: images (each builder stage pushed as ghcr.io/acme/app:main-stage-<stage>, which this builder can do though it cannot export a registry cache)"
	if len(p.Notes) == 0 || !strings.Contains(p.Notes[len(p.Notes)-1], want) {
		t.Errorf("notes = %q, want one saying %s", p.Notes, want)
	}
}
