package cachemeta

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	cachetypes "github.com/moby/buildkit/cache/remotecache/v1/types"

	"github.com/inlinecache/action/internal/registrytest"
)

// imageConfig builds an image config with diffIDs layers and the given payload
// (already encoded; "" leaves the key out).
func imageConfig(diffIDs int, payload string) []byte {
	c := map[string]any{"rootfs": map[string]any{"type": "layers", "diff_ids": make([]string, diffIDs)}}
	if payload != "" {
		c[ConfigKey] = payload
	}
	b, _ := json.Marshal(c)
	return b
}

func encode(records any) string {
	b, _ := json.Marshal(records)
	return base64.StdEncoding.EncodeToString(b)
}

func TestDecodeAndAnalyzeValid(t *testing.T) {
	p, err := Decode(imageConfig(3, encode(registrytest.Records(3))))
	if err != nil {
		t.Fatal(err)
	}
	s := Analyze(p, 3)
	if !s.Valid() || s.Records != 4 || s.RecordsWithLayers != 3 || s.LayersCovered != 3 || s.LayersTotal != 3 {
		t.Errorf("summary = %+v", s)
	}
}

func TestPartialCoverage(t *testing.T) {
	// Only the first two of four layers have results: a truncated cache.
	p, err := Decode(imageConfig(4, encode(registrytest.Records(2))))
	if err != nil {
		t.Fatal(err)
	}
	s := Analyze(p, 4)
	if !s.Valid() || s.LayersCovered != 2 || s.LayersTotal != 4 {
		t.Errorf("summary = %+v", s)
	}
}

func TestChainedResultsCoverListedLayers(t *testing.T) {
	recs := []cachetypes.CacheRecord{{
		Digest:         "sha256:link",
		ChainedResults: []cachetypes.ChainedResult{{LayerIndexes: []int{0, 2}}},
	}}
	p, err := Decode(imageConfig(3, encode(recs)))
	if err != nil {
		t.Fatal(err)
	}
	if s := Analyze(p, 3); !s.Valid() || s.LayersCovered != 2 {
		t.Errorf("summary = %+v", s)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
		says string
	}{
		{"not json", []byte("{"), "not JSON"},
		{"absent", imageConfig(1, ""), "pushed without inline cache"},
		{"not a string", []byte(`{"moby.buildkit.cache.v0": 5}`), "not a string"},
		{"not base64", imageConfig(1, "%%%"), "not base64"},
		{"not json array", imageConfig(1, base64.StdEncoding.EncodeToString([]byte(`{"a":1}`))), "not a JSON array"},
		{"empty array", imageConfig(1, encode([]int{})), "no cache records"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.raw)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("Decode = %v, want an error saying %q", err, tt.says)
			}
		})
	}
	if _, err := Decode(imageConfig(1, "")); !errors.Is(err, ErrAbsent) {
		t.Errorf("absent cache is %v, want ErrAbsent", err)
	}
}

func TestAnalyzeProblems(t *testing.T) {
	tests := []struct {
		name    string
		records []cachetypes.CacheRecord
		diffIDs int
		layers  int
		says    string
	}{
		{"layer out of range", []cachetypes.CacheRecord{{Results: []cachetypes.CacheResult{{LayerIndex: 3}}}}, 2, 2, "layer index 3 is out of range"},
		{"negative layer", []cachetypes.CacheRecord{{Results: []cachetypes.CacheResult{{LayerIndex: -1}}}}, 2, 2, "layer index -1"},
		{"chain out of range", []cachetypes.CacheRecord{{ChainedResults: []cachetypes.ChainedResult{{LayerIndexes: []int{0, 5}}}}}, 2, 2, "chain 0 layer index 5"},
		{"link out of range", []cachetypes.CacheRecord{{Results: []cachetypes.CacheResult{{LayerIndex: 0}}, Inputs: [][]cachetypes.CacheInput{{{LinkIndex: 7}}}}}, 1, 1, "input link 7 is out of range"},
		{"diff ids mismatch", registrytest.Records(2), 3, 2, "3 rootfs.diff_ids but the manifest has 2 layers"},
		{"no results", []cachetypes.CacheRecord{{Digest: "sha256:x"}}, 2, 2, "no cache record points at a layer"},
		{"no layers", registrytest.Records(0), 0, 0, "no layers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Decode(imageConfig(tt.diffIDs, encode(tt.records)))
			if err != nil {
				t.Fatal(err)
			}
			s := Analyze(p, tt.layers)
			if s.Valid() {
				t.Errorf("summary %+v is valid, want a problem saying %q", s, tt.says)
			}
			if !strings.Contains(strings.Join(s.Problems, "\n"), tt.says) {
				t.Errorf("problems %q do not say %q", s.Problems, tt.says)
			}
		})
	}
}
