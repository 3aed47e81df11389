package stages

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func advise(t *testing.T, df string, o Options) []Advice {
	t.Helper()
	a, err := Analyze([]byte(df), o)
	if err != nil {
		t.Fatal(err)
	}
	return Advise([]byte(df), a)
}

func TestAdvise(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		df      string
		mounts  [][]string // per advice, the mount flags
		defeats []string   // a fragment of each advice's defeats, in order
	}{
		{name: "go build without mounts",
			df:     "FROM golang:1.26 AS build\nRUN go build ./...\nFROM scratch\nCOPY --from=build /x /x\n",
			mounts: [][]string{{"--mount=type=cache,target=/root/.cache/go-build", "--mount=type=cache,target=/go/pkg/mod"}}},
		{name: "go build with both mounts: nothing to say",
			df: "FROM golang:1.26\nRUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build go build ./...\n"},
		{name: "a mount above the cache directory covers it",
			df: "FROM golang:1.26\nRUN --mount=type=cache,target=/root/.cache --mount=type=cache,target=/go go test ./...\n"},
		{name: "go mod download: the module cache only",
			df:     "FROM golang:1.26\nRUN go mod download\n",
			mounts: [][]string{{"--mount=type=cache,target=/go/pkg/mod"}}},
		{name: "GOCACHE, GOMODCACHE and a command-local assignment",
			df:     "FROM golang:1.26\nENV GOCACHE=/cache/build GOPATH=/work\nRUN CGO_ENABLED=0 GOMODCACHE=/mods go build -o /out ./cmd\n",
			mounts: [][]string{{"--mount=type=cache,target=/cache/build", "--mount=type=cache,target=/mods"}}},
		{name: "GOPATH outside the golang image, a named USER's home",
			df:     "FROM debian\nUSER builder\nRUN go build .\n",
			mounts: [][]string{{"--mount=type=cache,target=/home/builder/.cache/go-build", "--mount=type=cache,target=/home/builder/go/pkg/mod"}}},
		{name: "a numeric USER owns the mount",
			df:     "FROM golang:1.26\nUSER 1000\nRUN go build .\n",
			mounts: [][]string{{"--mount=type=cache,target=/home/1000/.cache/go-build,uid=1000,gid=1000", "--mount=type=cache,target=/go/pkg/mod,uid=1000,gid=1000"}}},
		{name: "ENV inherited from the base stage, HOME respected",
			df:     "FROM golang:1.26 AS base\nENV HOME=/h\nFROM base\nRUN --mount=type=cache,target=/go/pkg/mod go build .\n",
			mounts: [][]string{{"--mount=type=cache,target=/h/.cache/go-build"}}},
		{name: "go build -a defeats the cache even under mounts",
			df:      "FROM golang:1.26\nRUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build go build -a -o /x .\n",
			mounts:  [][]string{nil},
			defeats: []string{"go build -a rebuilds every package"}},
		{name: "in a chain of commands and a heredoc",
			df:     "# syntax=docker/dockerfile:1\nFROM node:18\nRUN apt-get update && cd /app && npm ci --omit=dev; echo done\nRUN <<EOF\nset -e\n# pip install here is a comment\npip install -r requirements.txt\nEOF\n",
			mounts: [][]string{{"--mount=type=cache,target=/root/.npm"}, {"--mount=type=cache,target=/root/.cache/pip"}}},
		{name: "exec form",
			df:     "FROM node:18\nRUN [\"npm\", \"install\"]\n",
			mounts: [][]string{{"--mount=type=cache,target=/root/.npm"}}},
		{name: "npm's cache directory from the environment",
			df:     "FROM node:18\nENV npm_config_cache=/npm-cache\nRUN npm ci\n",
			mounts: [][]string{{"--mount=type=cache,target=/npm-cache"}}},
		{name: "npm ci --cache elsewhere than the mount",
			df:      "FROM node:18\nRUN --mount=type=cache,target=/root/.npm npm ci --cache /tmp/npm\n",
			mounts:  [][]string{{"--mount=type=cache,target=/tmp/npm"}},
			defeats: []string{"npm ci --cache /tmp/npm puts npm's cache outside the cache mounts (/root/.npm)"}},
		{name: "pip --no-cache-dir under a mount",
			df:      "FROM python:3\nRUN --mount=type=cache,target=/root/.cache/pip pip install --no-cache-dir -r r.txt\n",
			mounts:  [][]string{nil},
			defeats: []string{"pip install --no-cache-dir under a cache mount leaves the mount empty"}},
		{name: "pip --no-cache-dir without one: add the mount, drop the flag",
			df:     "FROM python:3\nRUN python3 -m pip install --no-cache-dir flask\n",
			mounts: [][]string{{"--mount=type=cache,target=/root/.cache/pip"}}},
		{name: "yarn, pnpm, cargo, mvn, gradle",
			df: "FROM node:18 AS y\nRUN yarn --frozen-lockfile\nFROM node:18 AS p\nENV PNPM_HOME=/pnpm\nRUN pnpm install\nFROM rust:1 AS r\nRUN cargo build --release\n" +
				"FROM maven:3 AS m\nRUN mvn -B package\nFROM gradle:8 AS g\nRUN ./gradlew build\n" +
				"FROM scratch\nCOPY --from=y /a /a\nCOPY --from=p /a /a\nCOPY --from=r /a /a\nCOPY --from=m /a /a\nCOPY --from=g /a /a\n",
			mounts: [][]string{{"--mount=type=cache,target=/usr/local/share/.cache/yarn"}, {"--mount=type=cache,target=/pnpm/store"},
				{"--mount=type=cache,target=/usr/local/cargo/registry"}, {"--mount=type=cache,target=/root/.m2"}, {"--mount=type=cache,target=/root/.gradle"}}},
		{name: "an unused stage and other commands: nothing",
			df: "FROM golang:1.26 AS unused\nRUN go build .\nFROM debian\nRUN apt-get install -y make && echo 'go build' && npm run build\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := advise(t, tc.df, Options{})
			if len(got) != len(tc.mounts) {
				t.Fatalf("%d advices, want %d: %+v", len(got), len(tc.mounts), got)
			}
			var defeats []string
			for i, a := range got {
				if !reflect.DeepEqual(a.Mounts, tc.mounts[i]) {
					t.Errorf("advice %d mounts = %q, want %q", i, a.Mounts, tc.mounts[i])
				}
				for _, m := range a.Mounts {
					if !strings.Contains(a.Message, m) {
						t.Errorf("advice %d does not give %s: %s", i, m, a.Message)
					}
				}
				if !strings.HasPrefix(a.Message, "cache mounts: line ") {
					t.Errorf("advice %d = %q", i, a.Message)
				}
				defeats = append(defeats, a.Defeats...)
			}
			if len(defeats) != len(tc.defeats) {
				t.Fatalf("defeats = %q, want %q", defeats, tc.defeats)
			}
			for i, d := range tc.defeats {
				if !strings.Contains(defeats[i], d) {
					t.Errorf("defeat %d = %q, want it to contain %q", i, defeats[i], d)
				}
			}
		})
	}
}

// TestAdviseTestProjects keeps the advice on the real-world test projects
// as goldens: their plain Dockerfiles get it, the ones written with cache
// mounts as Docker's guides write them get none.
func TestAdviseTestProjects(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"goservice/Dockerfile", "goservice/Dockerfile.mounts", "nodeservice/Dockerfile", "nodeservice/Dockerfile.mounts"} {
		t.Run(f, func(t *testing.T) {
			t.Parallel()
			dt, err := os.ReadFile(filepath.Join("..", "..", "testdata", f))
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, a := range advise(t, string(dt), Options{}) {
				b.WriteString(a.Message + "\n")
			}
			golden := filepath.Join("testdata", strings.ReplaceAll(f, "/", "-")+".advice.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./internal/stages -update writes it)", err)
			}
			if b.String() != string(want) {
				t.Errorf("advice differs from %s:\n--- got\n%s--- want\n%s", golden, b.String(), want)
			}
			if strings.HasSuffix(f, ".mounts") != (b.Len() == 0) {
				t.Errorf("%s: advice %q", f, b.String())
			}
		})
	}
}
