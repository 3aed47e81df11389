package cachemeta_test

import (
	"testing"

	cachetypes "github.com/moby/buildkit/cache/remotecache/v1/types"

	"github.com/inlinecache/action/internal/cachemeta"
)

// BenchmarkAnalyzeHostile analyses about the worst payload the size limits
// let through: as many results as fit in MaxPayloadBytes ({"layer":23301}
// is 16 bytes), each naming the top layer of an image with as many layers
// as fit in a MaxManifestBytes manifest (a layer descriptor is ~180
// bytes). Analyze must stay linear in results + layers: this ran for
// seconds per op when every result re-marked all the layers below it.
func BenchmarkAnalyzeHostile(b *testing.B) {
	const layers = cachemeta.MaxManifestBytes / 180
	const results = cachemeta.MaxPayloadBytes / 16
	rec := cachemeta.Record{Results: make([]cachetypes.CacheResult, results)}
	for i := range rec.Results {
		rec.Results[i].LayerIndex = layers - 1
	}
	p := cachemeta.Payload{Records: []cachemeta.Record{rec}, DiffIDs: layers}
	b.ResetTimer()
	for range b.N {
		if s := cachemeta.Analyze(p, layers); s.LayersCovered != layers || !s.Valid() {
			b.Fatalf("covered %d of %d, problems %q", s.LayersCovered, layers, s.Problems)
		}
	}
}
