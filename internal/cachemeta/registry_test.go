package cachemeta

import (
	"slices"
	"strings"
	"testing"

	cachetypes "github.com/moby/buildkit/cache/remotecache/v1/types"
)

const (
	blobA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	blobB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// twoLayers is a minimal valid registry cache: a root record and a record
// on top of it whose result is layer 1 (on layer 0).
func twoLayers() CacheConfig {
	return CacheConfig{
		Layers: []CacheLayer{{Blob: blobA, ParentIndex: -1}, {Blob: blobB, ParentIndex: 0}},
		Records: []Record{
			{Digest: "sha256:root"},
			{Digest: "sha256:step", Results: []cachetypes.CacheResult{{LayerIndex: 1}}, Inputs: [][]cachetypes.CacheInput{{{LinkIndex: 0}}}},
		},
	}
}

func TestDecodeCacheConfig(t *testing.T) {
	t.Parallel()
	c, err := DecodeCacheConfig([]byte(`{"layers":[{"blob":"` + blobA + `","parent":-1}],"records":[{"digest":"sha256:r","layers":[{"layer":0}]}]}`))
	if err != nil || len(c.Layers) != 1 || c.Layers[0].ParentIndex != -1 || len(c.Records) != 1 || c.Records[0].Results[0].LayerIndex != 0 {
		t.Fatalf("c = %+v, err %v", c, err)
	}
	for _, tt := range []struct {
		name, raw, says string
	}{
		{"not JSON", `{{`, "cache config is not a JSON BuildKit cache config: "},
		{"wrong shape", `{"records":{}}`, "cache config is not a JSON BuildKit cache config: "},
		{"no records", `{"layers":[{"blob":"` + blobA + `"}]}`, "cache config holds no cache records"},
		{"too big", strings.Repeat(" ", MaxConfigBytes+1), "cache config is 16777217 bytes, over the 16777216-byte limit"},
	} {
		if _, err := DecodeCacheConfig([]byte(tt.raw)); err == nil || !strings.HasPrefix(err.Error(), tt.says) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.says)
		}
	}
}

func TestAnalyzeCacheConfig(t *testing.T) {
	t.Parallel()
	s := AnalyzeCacheConfig(twoLayers(), []string{blobA, blobB})
	if !s.Valid() || s.Records != 2 || s.RecordsWithLayers != 1 || s.ConfigLayers != 2 || s.Graph.Links != 1 || s.Graph.Roots != 1 {
		t.Fatalf("valid cache: %+v (%q)", s, s.Problems)
	}
	for _, tt := range []struct {
		name   string
		edit   func(*CacheConfig)
		listed []string
		want   []string
	}{
		{"blob not listed", nil, []string{blobA},
			[]string{"layer 1 (blob " + blobB + ") is not listed in the cache manifest: BuildKit drops every result that needs it"}},
		{"layer without blob", func(c *CacheConfig) { c.Layers[0].Blob = "" }, []string{blobB},
			[]string{"layer 0 names no blob"}},
		{"parent out of range", func(c *CacheConfig) { c.Layers[1].ParentIndex = 5 }, nil,
			[]string{"layer 1: parent index 5 is out of range (the cache config has 2 layers)"}},
		{"parents loop", func(c *CacheConfig) { c.Layers[0].ParentIndex = 1 }, nil,
			[]string{"layers loop through their parents (0 → 1 → 0): BuildKit refuses a looping layer"}},
		{"result out of range", func(c *CacheConfig) { c.Records[1].Results[0].LayerIndex = 2 }, nil,
			[]string{"record 1: result layer index 2 is out of range (the cache config has 2 layers)"}},
		{"chain out of range", func(c *CacheConfig) {
			c.Records[1].ChainedResults = []cachetypes.ChainedResult{{LayerIndexes: []int{0, -1}}}
		}, nil, []string{"record 1: chain 0 layer index -1 is out of range (the cache config has 2 layers)"}},
		{"link to a missing record", func(c *CacheConfig) { c.Records[1].Inputs[0][0].LinkIndex = 2 }, nil,
			[]string{"record 1: input link 2 is out of range (the cache has 2 records)"}},
		{"empty input", func(c *CacheConfig) { c.Records[1].Inputs = append(c.Records[1].Inputs, nil) }, nil,
			[]string{"record 1: input 1 lists no link (BuildKit rejects empty inputs)"}},
		{"records loop", func(c *CacheConfig) { c.Records[0].Inputs = [][]cachetypes.CacheInput{{{LinkIndex: 1}}} }, nil,
			[]string{"records link in a cycle (0 → 1 → 0): BuildKit refuses a looping record"}},
		{"no results", func(c *CacheConfig) { c.Records[1].Results = nil }, nil,
			[]string{"no cache record points at a layer: nothing can be reused"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := twoLayers()
			if tt.edit != nil {
				tt.edit(&c)
			}
			listed := tt.listed
			if listed == nil {
				listed = []string{blobA, blobB}
			}
			s := AnalyzeCacheConfig(c, listed)
			if s.Valid() || !slices.Equal(s.Problems, tt.want) {
				t.Errorf("problems = %q\nwant       %q", s.Problems, tt.want)
			}
		})
	}
}
