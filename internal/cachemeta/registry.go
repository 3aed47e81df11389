package cachemeta

import (
	"fmt"
	"strings"

	cachetypes "github.com/moby/buildkit/cache/remotecache/v1/types"
)

// CacheConfig is the config blob of a cache exported with --cache-to
// type=registry (media type RegistryCacheConfigMediaType): the layers, each
// a blob the cache manifest lists with the index of its parent layer, and
// the records, whose results name those layers by index.
type CacheConfig = cachetypes.CacheConfig

// CacheLayer is one layer of a registry cache config.
type CacheLayer = cachetypes.CacheLayer

// DecodeCacheConfig reads a registry cache config blob.
func DecodeCacheConfig(raw []byte) (CacheConfig, error) {
	var c CacheConfig
	if err := unmarshalConfig(raw, "cache config", "a JSON BuildKit cache config", &c); err != nil {
		return CacheConfig{}, err
	}
	if len(c.Records) == 0 {
		return CacheConfig{}, fmt.Errorf("cache config holds no cache records")
	}
	return c, nil
}

// CacheSummary is what a registry cache config says, checked against the
// layer blobs its manifest lists.
type CacheSummary struct {
	Records           int `json:"records"`
	RecordsWithLayers int `json:"recordsWithLayers"`
	// ConfigLayers counts the layers the config references.
	ConfigLayers int `json:"configLayers"`
	// Problems make the cache unusable or incomplete; empty means valid.
	Problems []string `json:"problems,omitempty"`
	Graph    *Graph   `json:"graph,omitempty"`
}

// Valid reports whether BuildKit can import every result of this cache.
func (s CacheSummary) Valid() bool { return len(s.Problems) == 0 && s.RecordsWithLayers > 0 }

// AnalyzeCacheConfig checks a registry cache config as BuildKit's importer
// reads it: the records as in the inline form (with layer indexes into the
// config's layers), each layer's parent in range and without a loop, and
// each layer's blob among listed, the layer digests of the cache manifest.
// BuildKit drops a result whose blob is not listed without a word, so an
// unlisted blob is a problem here.
func AnalyzeCacheConfig(c CacheConfig, listed []string) CacheSummary {
	s := CacheSummary{Records: len(c.Records), ConfigLayers: len(c.Layers)}
	problem := func(format string, a ...any) { s.Problems = append(s.Problems, fmt.Sprintf(format, a...)) }
	in := make(map[string]bool, len(listed))
	for _, d := range listed {
		in[d] = true
	}
	for i, l := range c.Layers {
		switch {
		case l.Blob == "":
			problem("layer %d names no blob", i)
		case !in[l.Blob.String()]:
			problem("layer %d (blob %s) is not listed in the cache manifest: BuildKit drops every result that needs it", i, l.Blob)
		}
		if l.ParentIndex != -1 && (l.ParentIndex < 0 || l.ParentIndex >= len(c.Layers)) {
			problem("layer %d: parent index %d is out of range (the cache config has %d layers)", i, l.ParentIndex, len(c.Layers))
		}
	}
	if loop := parentLoop(c.Layers); loop != "" {
		problem("%s", loop)
	}
	s.Problems = append(s.Problems, checkRecords(c.Records, len(c.Layers), fmt.Sprintf("the cache config has %d layers", len(c.Layers)))...)
	for _, r := range c.Records {
		if len(r.Results)+len(r.ChainedResults) > 0 {
			s.RecordsWithLayers++
		}
	}
	g, cycle := graph(c.Records)
	s.Graph = &g
	if cycle != "" {
		problem("%s", cycle)
	}
	if s.RecordsWithLayers == 0 {
		problem("no cache record points at a layer: nothing can be reused")
	}
	return s
}

// parentLoop describes the first loop among the layers' parent links, if
// any: BuildKit refuses a looping layer. Each layer is walked once.
func parentLoop(layers []CacheLayer) string {
	const (
		unseen = iota
		active
		done
	)
	state := make([]int, len(layers))
	for start := range layers {
		var path []int
		i := start
		for i >= 0 && i < len(layers) && state[i] == unseen {
			state[i] = active
			path = append(path, i)
			i = layers[i].ParentIndex
		}
		if i >= 0 && i < len(layers) && state[i] == active {
			var parts []string
			for k, j := range path {
				if j == i {
					for _, p := range path[k:] {
						parts = append(parts, fmt.Sprint(p))
					}
					break
				}
			}
			parts = append(parts, fmt.Sprint(i))
			return fmt.Sprintf("layers loop through their parents (%s): BuildKit refuses a looping layer", strings.Join(parts, " → "))
		}
		for _, j := range path {
			state[j] = done
		}
	}
	return ""
}
