package stages

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// shape is what a test expects of an analysis: each stage's label and
// role, the chain to the image, and the builder stages' RUN steps.
type shape struct {
	roles  map[string]Role
	chain  []string
	costly map[string][]string // builder stage → its RUN lines, as written
	images []string            // images copied or mounted from, any stage
	notes  []string            // substrings, one per note, in order
}

func check(t *testing.T, a Analysis, want shape) {
	t.Helper()
	got := map[string]Role{}
	for _, s := range a.Stages {
		got[s.Label()] = s.Role
	}
	if !reflect.DeepEqual(got, want.roles) {
		t.Errorf("roles = %v, want %v", got, want.roles)
	}
	var chain []string
	for _, s := range a.Chain() {
		chain = append(chain, s.Label())
	}
	if !reflect.DeepEqual(chain, want.chain) {
		t.Errorf("chain = %v, want %v", chain, want.chain)
	}
	costly := map[string][]string{}
	for _, s := range a.BuildersWithSteps() {
		for _, st := range s.CostlySteps() {
			costly[s.Label()] = append(costly[s.Label()], st.Text)
		}
	}
	if want.costly == nil {
		want.costly = map[string][]string{}
	}
	if !reflect.DeepEqual(costly, want.costly) {
		t.Errorf("builder RUN steps = %q, want %q", costly, want.costly)
	}
	var images []string
	for _, s := range a.Stages {
		images = append(images, s.Images...)
	}
	if !reflect.DeepEqual(images, want.images) {
		t.Errorf("images = %q, want %q", images, want.images)
	}
	if len(a.Notes) != len(want.notes) {
		t.Fatalf("notes = %q, want %d matching %q", a.Notes, len(want.notes), want.notes)
	}
	for i, n := range want.notes {
		if !strings.Contains(a.Notes[i], n) {
			t.Errorf("note %d = %q, want it to contain %q", i, a.Notes[i], n)
		}
	}
}

func TestAnalyze(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		df   string
		o    Options
		want shape
	}{{
		name: "single stage",
		df:   "FROM debian:bookworm\nRUN apt-get update\nCOPY . /src\n",
		want: shape{roles: map[string]Role{"#0": Image}, chain: []string{"#0"}},
	}, {
		name: "golang builder to debian runtime",
		df: `# syntax=docker/dockerfile:1
ARG GO_VERSION=1.24
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build \
    -o /out/server ./cmd/server

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y ca-certificates
COPY --from=build /out/server /usr/local/bin/server
ENTRYPOINT ["server"]
`,
		want: shape{
			roles:  map[string]Role{"build": Builder, "#1": Image},
			chain:  []string{"#1"},
			costly: map[string][]string{"build": {"RUN go mod download", "RUN CGO_ENABLED=0 go build -o /out/server ./cmd/server"}},
		},
	}, {
		name: "node builder with a deps stage and distroless runtime",
		df: `FROM node:22-bookworm AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci

FROM deps AS build
COPY . .
RUN npm run build

FROM deps AS test
RUN npm test

FROM gcr.io/distroless/nodejs22-debian12
COPY --from=build /app/dist /app
COPY --from=deps /app/node_modules /app/node_modules
CMD ["/app/server.js"]
`,
		want: shape{
			roles:  map[string]Role{"deps": Builder, "build": Builder, "test": Unused, "#3": Image},
			chain:  []string{"#3"},
			costly: map[string][]string{"deps": {"RUN npm ci"}, "build": {"RUN npm run build"}},
		},
	}, {
		name: "final stage based on a stage",
		df: `FROM alpine AS base
RUN apk add --no-cache ca-certificates
FROM base AS runtime
COPY app /app
FROM golang AS build
RUN go build -o /app .
FROM runtime
COPY --from=build /app /app
`,
		want: shape{
			roles:  map[string]Role{"base": Image, "runtime": Image, "build": Builder, "#3": Image},
			chain:  []string{"base", "runtime", "#3"},
			costly: map[string][]string{"build": {"RUN go build -o /app ."}},
		},
	}, {
		name: "index --from and an external image as --from",
		df: `FROM golang AS build
RUN go build -o /app .
FROM scratch
COPY --from=0 /app /app
COPY --from=busybox:1.36 /bin/busybox /bin/busybox
`,
		want: shape{
			roles:  map[string]Role{"build": Builder, "#1": Image},
			chain:  []string{"#1"},
			costly: map[string][]string{"build": {"RUN go build -o /app ."}},
			images: []string{"busybox:1.36"},
		},
	}, {
		name: "RUN --mount=from= reaches a stage",
		df: `FROM debian AS assets
RUN mkdir /assets && echo x > /assets/a
FROM debian AS unused
RUN true
FROM debian
RUN --mount=type=bind,from=assets,source=/assets,target=/mnt cp -r /mnt /assets
RUN --mount=type=cache,target=/var/cache/apt apt-get update
`,
		want: shape{
			roles:  map[string]Role{"assets": Builder, "unused": Unused, "#2": Image},
			chain:  []string{"#2"},
			costly: map[string][]string{"assets": {"RUN mkdir /assets && echo x > /assets/a"}},
		},
	}, {
		name: "target picks a builder-shaped stage",
		df: `FROM golang AS build
RUN go build -o /app .
FROM build AS test
RUN go test ./...
FROM scratch AS release
COPY --from=build /app /app
`,
		o: Options{Target: "TEST"},
		want: shape{
			roles: map[string]Role{"build": Image, "test": Image, "release": Unused},
			chain: []string{"build", "test"},
		},
	}, {
		name: "ARG in FROM from a build-arg selects a stage",
		df: `ARG VARIANT=dev
FROM golang AS build-prod
RUN go build -tags prod -o /app .
FROM golang AS build-dev
RUN go build -o /app .
FROM build-${VARIANT} AS build
FROM scratch
COPY --from=build /app /app
`,
		o: Options{BuildArgs: []string{"VARIANT=prod", "UNRELATED=1"}},
		want: shape{
			roles:  map[string]Role{"build-prod": Builder, "build-dev": Unused, "build": Builder, "#3": Image},
			chain:  []string{"#3"},
			costly: map[string][]string{"build-prod": {"RUN go build -tags prod -o /app ."}},
		},
	}, {
		name: "ARG default from another global ARG and TARGETARCH",
		df: `ARG BASE=debian
ARG TAG=bookworm
ARG IMAGE=${BASE}:${TAG}
FROM ${IMAGE} AS base-amd64
FROM ${IMAGE} AS base-arm64
RUN echo arm
FROM base-${TARGETARCH}
RUN echo final
`,
		o: Options{Platform: "linux/arm64"},
		want: shape{
			roles: map[string]Role{"base-amd64": Unused, "base-arm64": Image, "#2": Image},
			chain: []string{"base-arm64", "#2"},
		},
	}, {
		name: "a build-arg counts only for a declared global ARG",
		df: `FROM golang AS build
RUN go build -o /app .
FROM ${BASE:-scratch}
COPY --from=build /app /app
`,
		o: Options{BuildArgs: []string{"BASE=build"}},
		want: shape{
			roles:  map[string]Role{"build": Builder, "#1": Image},
			chain:  []string{"#1"},
			costly: map[string][]string{"build": {"RUN go build -o /app ."}},
		},
	}, {
		name: "platform argument unknown before the build",
		df:   "FROM --platform=$BUILDPLATFORM golang AS build\nRUN go build\nFROM base-${TARGETARCH}\nCOPY --from=build /app /app\n",
		want: shape{
			roles:  map[string]Role{"build": Builder, "#1": Image},
			chain:  []string{"#1"},
			costly: map[string][]string{"build": {"RUN go build"}},
			notes:  []string{`line 3: FROM base-${TARGETARCH} uses $TARGETARCH, not known before the build; read as "base-"`},
		},
	}, {
		name: "variable in --from",
		df: `ARG SRC=build
FROM golang AS build
RUN go build -o /app .
FROM scratch
COPY --from=${SRC} /app /app
`,
		want: shape{
			roles:  map[string]Role{"build": Unused, "#1": Image},
			chain:  []string{"#1"},
			images: []string{"${SRC}"},
			notes:  []string{"line 5: --from=${SRC}: BuildKit does not expand variables in --from"},
		},
	}, {
		name: "a named context replaces a builder stage",
		df: `FROM golang AS build
RUN go build -o /app .
FROM scratch
COPY --from=build /app /app
`,
		o: Options{Contexts: []string{"build"}},
		want: shape{
			roles: map[string]Role{"build": Replaced, "#1": Image},
			chain: []string{"#1"},
		},
	}, {
		name: "builder with only COPY steps has no costly steps",
		df: `FROM scratch AS files
COPY a /a
FROM busybox
COPY --from=files /a /a
`,
		want: shape{
			roles: map[string]Role{"files": Builder, "#1": Image},
			chain: []string{"#1"},
		},
	}, {
		name: "newer syntax is a note",
		df:   "# syntax=docker/dockerfile:9.1-labs\nFROM scratch\nCOPY a /a\n",
		want: shape{
			roles: map[string]Role{"#0": Image},
			chain: []string{"#0"},
			notes: []string{"# syntax=docker/dockerfile:9.1-labs is newer than the Dockerfile 1.28 parser"},
		},
	}, {
		name: "another frontend is a note",
		df:   "# syntax=example.com/frontends/dockerfile:edge\nFROM scratch\n",
		want: shape{
			roles: map[string]Role{"#0": Image},
			chain: []string{"#0"},
			notes: []string{"this frontend may read it differently"},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := Analyze([]byte(tc.df), tc.o)
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			check(t, a, tc.want)
		})
	}
}

// The test project the e2e tests build: the tools stage's steps are not in
// the inline cache.
func TestAnalyzeCacheProject(t *testing.T) {
	t.Parallel()
	dt, err := os.ReadFile("../../testdata/cacheprojects/multistage/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Analyze(dt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	check(t, a, shape{
		roles: map[string]Role{"tools": Builder, "#1": Image},
		chain: []string{"#1"},
		costly: map[string][]string{"tools": {
			`RUN ["/bin/busybox", "--install", "-s", "/bin"]`,
			`RUN echo "built in the tools stage" > /artifact.txt`,
		}},
	})
	b := a.Builders()[0]
	if len(b.Steps) != 3 || b.Steps[0].Instruction != "COPY" || b.Steps[0].Line != 4 {
		t.Errorf("tools steps = %+v, want COPY at line 4 and two RUNs", b.Steps)
	}
}

func TestAnalyzeErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, df string
		o        Options
		want     string
	}{
		{"no FROM", "ARG X=1\n", Options{}, "no FROM"},
		{"empty", "# nothing\n", Options{}, "parse the Dockerfile"},
		{"instruction before FROM", "RUN true\nFROM scratch\n", Options{}, "read the Dockerfile's instructions"},
		{"bad stage name", "FROM scratch AS 1bad\n", Options{}, "invalid name for build stage"},
		{"unknown instruction", "FROM scratch\nFROBNICATE x\n", Options{}, "unknown instruction"},
		{"missing target", "FROM scratch AS a\n", Options{Target: "b"}, `target stage "b" is not in the Dockerfile`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Analyze([]byte(tc.df), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Analyze = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestSyntaxNote(t *testing.T) {
	t.Parallel()
	for syntax, newer := range map[string]bool{
		"":                                   false,
		"docker/dockerfile:1":                false,
		"docker/dockerfile:1.7":              false,
		"docker/dockerfile:1.28.0":           false,
		"docker/dockerfile:1-labs":           false,
		"docker.io/docker/dockerfile:1.29":   true,
		"docker/dockerfile:2":                true,
		"docker/dockerfile:1.99@sha256:abcd": true,
		"docker/dockerfile@sha256:abcd":      false,
	} {
		n := syntaxNote(syntax)
		if got := strings.Contains(n, "is newer than"); got != newer {
			t.Errorf("syntaxNote(%q) = %q, want newer=%v", syntax, n, newer)
		}
		if !newer && n != "" {
			t.Errorf("syntaxNote(%q) = %q, want none", syntax, n)
		}
	}
}

// The real-world test projects (testdata/goservice, testdata/nodeservice):
// the builder stage's dependency install and compile are outside the
// inline cache.
func TestAnalyzeRealWorldProjects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		project string
		o       Options
		want    shape
		base    string
	}{
		{"goservice", Options{BuildArgs: []string{"GO_VERSION=1.25", "GOPROXY=http://127.0.0.1:1"}}, shape{
			roles: map[string]Role{"build": Builder, "#1": Image},
			chain: []string{"#1"},
			costly: map[string][]string{"build": {
				"RUN go mod download",
				"RUN CGO_ENABLED=0 go build -trimpath -o /out/server ./cmd/server",
			}},
		}, "golang:1.25-bookworm"},
		{"nodeservice", Options{}, shape{
			roles: map[string]Role{"build": Builder, "#1": Image},
			chain: []string{"#1"},
			costly: map[string][]string{"build": {
				"RUN npm ci --omit=dev --no-audit --no-fund",
				"RUN npm run build",
			}},
		}, "node:18-bookworm"},
	} {
		t.Run(tc.project, func(t *testing.T) {
			t.Parallel()
			dt, err := os.ReadFile(filepath.Join("..", "..", "testdata", tc.project, "Dockerfile"))
			if err != nil {
				t.Fatal(err)
			}
			a, err := Analyze(dt, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			check(t, a, tc.want)
			if a.Syntax != "docker/dockerfile:1" || a.Stages[0].Base != tc.base {
				t.Errorf("syntax %q, builder base %q, want %q", a.Syntax, a.Stages[0].Base, tc.base)
			}
		})
	}
}

func TestBeforeSources(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, df string
		want     []string
	}{
		{"dependency layer", "FROM golang AS build\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\nRUN go build\nFROM scratch\nCOPY --from=build /x /x\n", []string{"RUN go mod download"}},
		{"sources first", "FROM golang AS build\nCOPY . .\nRUN go mod download\nRUN go build\nFROM scratch\nCOPY --from=build /x /x\n", nil},
		{"copies from another stage only", "FROM alpine AS tools\nRUN apk add curl\nFROM golang AS build\nCOPY --from=tools /usr/bin/curl /c\nRUN make\nFROM scratch\nCOPY --from=build /x /x\n", nil},
	} {
		a, err := Analyze([]byte(tc.df), Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, st := range a.Stages[len(a.Stages)-2].BeforeSources() {
			got = append(got, st.Text)
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: BeforeSources = %q, want %q", tc.name, got, tc.want)
		}
	}
}
