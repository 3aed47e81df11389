package stages

import (
	"strings"
	"testing"
)

const mountsDockerfile = `ARG GO=1.26
FROM golang:${GO} AS base
FROM base AS build
WORKDIR /src
RUN --mount=type=cache,target=/root/.cache/go-build/ --mount=type=bind,target=/x true
RUN --mount=type=cache,id=gomod,target=/go/pkg/mod,sharing=locked true
RUN --mount=type=cache,target=cache,uid=1000,gid=1000,mode=0700 true
RUN --mount=type=cache,target=/sub,source=data,uid=1 true
RUN --mount=type=cache,target=/from,from=base true
RUN --mount=type=cache,id=$ID,target=/var true
RUN --mount=type=cache,target=/u,uid=$UID true
FROM debian AS unused
RUN --mount=type=cache,target=/never true
FROM scratch
COPY --from=build /src /src
`

// The key of each cache mount as BuildKit forms it: the id (the cleaned
// target, as written), the namespace, a base of its own for uid, gid or
// mode without source; a mount from another stage or with a variable in
// its key cannot be reproduced; unused stages do not count.
func TestCacheMountKeys(t *testing.T) {
	t.Parallel()
	a, err := Analyze([]byte(mountsDockerfile), Options{BuildArgs: []string{"GO=1.25"}})
	if err != nil {
		t.Fatal(err)
	}
	ms := a.CacheMounts()
	type row struct{ key, opts, tool, skip string }
	want := []row{
		{"ns//root/.cache/go-build", "id=/root/.cache/go-build,sharing=shared", "golang:1.25", ""},
		{"ns/gomod", "id=gomod,sharing=locked", "golang:1.25", ""},
		{"ns/cache (uid=1000 gid=1000 mode=700)", "id=cache,sharing=shared,uid=1000,gid=1000,mode=700", "golang:1.25", ""},
		{"ns//sub source=data", "id=/sub,sharing=shared,uid=1,source=data", "golang:1.25", ""},
		{"ns//from", "id=/from,sharing=shared", "golang:1.25", `based on "base" (from=)`},
		{"ns/$ID", "id=$ID,sharing=shared", "golang:1.25", "uses $ID"},
		{"", "", "golang:1.25", "a --mount option uses a variable"},
	}
	if len(ms) != len(want) {
		t.Fatalf("mounts = %+v, want %d", ms, len(want))
	}
	for i, w := range want {
		m := ms[i]
		got := row{m.Key("ns"), m.Options(), a.ToolImage(m.Stage), m.Skip}
		if w.key != "" && (got.key != w.key || got.opts != w.opts) {
			t.Errorf("mount %d: key %q options %q, want %q %q", i, got.key, got.opts, w.key, w.opts)
		}
		if got.tool != w.tool {
			t.Errorf("mount %d: tool %q, want %q", i, got.tool, w.tool)
		}
		if (w.skip == "") != (got.skip == "") || !strings.Contains(got.skip, w.skip) {
			t.Errorf("mount %d: skip %q, want one saying %q", i, got.skip, w.skip)
		}
	}
	if !ms[2].HasBase() || ms[3].HasBase() || ms[0].HasBase() {
		t.Errorf("HasBase: uid without source has a base; with source or without options none")
	}
	if ms[0].Key("") != "//root/.cache/go-build" { // BuildKit: ns + "/" + id
		t.Errorf("no namespace: key %q, want //root/.cache/go-build", ms[0].Key(""))
	}
}

func TestToolImageScratch(t *testing.T) {
	t.Parallel()
	a, err := Analyze([]byte("FROM scratch AS s\nCOPY busybox /bin/\nFROM s\nRUN --mount=type=cache,target=/c /bin/busybox true\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ms := a.CacheMounts()
	if len(ms) != 1 || a.ToolImage(ms[0].Stage) != "" {
		t.Errorf("mounts %+v: want one with no tool image (scratch)", ms)
	}
}
