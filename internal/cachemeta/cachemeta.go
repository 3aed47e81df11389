// Package cachemeta decodes and checks the inline cache metadata BuildKit
// embeds in an image config under "moby.buildkit.cache.v0".
//
// The records are BuildKit's own types (cache/remotecache/v1/types): that
// package is a leaf (time and go-digest only), so reusing it keeps us
// faithful to the format at no cost in dependencies.
package cachemeta

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	cachetypes "github.com/moby/buildkit/cache/remotecache/v1/types"
)

// ConfigKey is the image config key holding the inline cache.
const ConfigKey = "moby.buildkit.cache.v0"

// ErrAbsent means the config has no inline cache at all.
var ErrAbsent = errors.New("image config has no " + ConfigKey + " key: the image was pushed without inline cache")

// Record is one cache record.
type Record = cachetypes.CacheRecord

// Payload is a decoded inline cache.
type Payload struct {
	Records []Record
	// DiffIDs is the number of rootfs.diff_ids in the config; BuildKit
	// ignores the cache when it differs from the manifest's layer count.
	DiffIDs int
}

// config is the part of an image config this package reads.
type config struct {
	RootFS struct {
		DiffIDs []json.RawMessage `json:"diff_ids"`
	} `json:"rootfs"`
	Cache json.RawMessage `json:"moby.buildkit.cache.v0"`
}

// Decode reads the inline cache out of a raw image config.
func Decode(rawConfig []byte) (Payload, error) {
	var c config
	if err := json.Unmarshal(rawConfig, &c); err != nil {
		return Payload{}, fmt.Errorf("image config is not JSON: %w", err)
	}
	if c.Cache == nil || string(c.Cache) == "null" {
		return Payload{}, ErrAbsent
	}
	var b64 string
	if err := json.Unmarshal(c.Cache, &b64); err != nil {
		return Payload{}, fmt.Errorf("%s is not a string", ConfigKey)
	}
	if b64 == "" {
		return Payload{}, fmt.Errorf("%s is empty", ConfigKey)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return Payload{}, fmt.Errorf("%s is not base64: %w", ConfigKey, err)
	}
	var records []Record
	if err := json.Unmarshal(raw, &records); err != nil {
		return Payload{}, fmt.Errorf("%s is not a JSON array of cache records: %w", ConfigKey, err)
	}
	if len(records) == 0 {
		return Payload{}, fmt.Errorf("%s holds no cache records", ConfigKey)
	}
	return Payload{Records: records, DiffIDs: len(c.RootFS.DiffIDs)}, nil
}

// Summary is what a payload says about an image of a given layer count.
type Summary struct {
	Records           int `json:"records"`
	RecordsWithLayers int `json:"recordsWithLayers"`
	LayersCovered     int `json:"layersCovered"`
	LayersTotal       int `json:"layersTotal"`
	// Problems make the cache unusable or suspect; empty means valid.
	Problems []string `json:"problems,omitempty"`
}

// Valid reports whether BuildKit can import this cache and it holds results.
func (s Summary) Valid() bool { return len(s.Problems) == 0 && s.RecordsWithLayers > 0 }

// Analyze checks every index in the payload against an image with the given
// number of layers and counts what the cache covers. A result for layer i
// stands for the chain of layers 0..i; a chained result lists its layers.
func Analyze(p Payload, layers int) Summary {
	s := Summary{Records: len(p.Records), LayersTotal: layers}
	problem := func(format string, a ...any) { s.Problems = append(s.Problems, fmt.Sprintf(format, a...)) }
	if layers == 0 {
		problem("the image has no layers, so the cache can hold no results")
	}
	if p.DiffIDs != layers {
		problem("config lists %d rootfs.diff_ids but the manifest has %d layers: BuildKit ignores this cache", p.DiffIDs, layers)
	}
	covered := make([]bool, layers)
	inRange := func(rec, idx int, what string) bool {
		if idx < 0 || idx >= layers {
			problem("record %d: %s layer index %d is out of range (the image has %d layers)", rec, what, idx, layers)
			return false
		}
		return true
	}
	for i, r := range p.Records {
		if len(r.Results)+len(r.ChainedResults) > 0 {
			s.RecordsWithLayers++
		}
		for _, res := range r.Results {
			if inRange(i, res.LayerIndex, "result") {
				for j := 0; j <= res.LayerIndex; j++ {
					covered[j] = true
				}
			}
		}
		for _, ch := range r.ChainedResults {
			for _, idx := range ch.LayerIndexes {
				if inRange(i, idx, "chain") {
					covered[idx] = true
				}
			}
		}
		for _, group := range r.Inputs {
			for _, in := range group {
				if in.LinkIndex < 0 || in.LinkIndex >= len(p.Records) {
					problem("record %d: input link %d is out of range (the cache has %d records)", i, in.LinkIndex, len(p.Records))
				}
			}
		}
	}
	for _, c := range covered {
		if c {
			s.LayersCovered++
		}
	}
	if s.RecordsWithLayers == 0 && layers > 0 {
		problem("no cache record points at a layer: nothing can be reused")
	}
	return s
}
