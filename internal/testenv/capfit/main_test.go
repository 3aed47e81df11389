package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestFit: every capability of the bounding set stays, in every set; the
// others go; the rest of the spec is kept.
func TestFit(t *testing.T) {
	bnd, err := boundingSet()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for n, c := range capNames {
		if bnd&(1<<n) != 0 {
			want = append(want, c)
		}
	}
	all, _ := json.Marshal(capNames)
	path := filepath.Join(t.TempDir(), "config.json")
	spec := `{"ociVersion":"1.0.2","process":{"args":["buildkitd"],"capabilities":{"bounding":` + string(all) + `,"effective":` + string(all) + `}},"root":{"path":"rootfs"}}`
	if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := fit(path, "process"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var got struct {
		Process struct {
			Args         []string
			Capabilities map[string][]string
		}
		Root struct{ Path string }
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for set, caps := range got.Process.Capabilities {
		if !slices.Equal(caps, want) {
			t.Errorf("%s = %v, want %v", set, caps, want)
		}
	}
	if len(got.Process.Capabilities) != 2 || got.Root.Path != "rootfs" || !slices.Equal(got.Process.Args, []string{"buildkitd"}) {
		t.Errorf("spec not kept: %s", b)
	}
}
