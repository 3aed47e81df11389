package cachemeta_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/inlinecache/action/internal/cachemeta"
)

// FuzzDecode feeds image configs (seeded with every config the real
// builders pushed) through Decode and Analyze: they must never panic, and
// what Analyze reports must be self-consistent.
func FuzzDecode(f *testing.F) {
	configs, _ := filepath.Glob(filepath.Join(fixtureRoot, "*", "*", "configs", "*.json"))
	if len(configs) == 0 {
		f.Fatal("no fixture configs to seed from")
	}
	for _, c := range configs {
		raw, err := os.ReadFile(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, uint8(6))
	}
	f.Add([]byte(`{"moby.buildkit.cache.v0":"W3sibGF5ZXJzIjpbeyJsYXllciI6MH1dLCJpbnB1dHMiOltbeyJsaW5rIjowfV1dfV0="}`), uint8(1))
	f.Fuzz(func(t *testing.T, raw []byte, layers uint8) {
		p, err := cachemeta.Decode(raw)
		if err != nil {
			return
		}
		if len(p.Records) == 0 {
			t.Fatal("Decode returned no records and no error")
		}
		s := cachemeta.Analyze(p, int(layers))
		if s.LayersCovered > s.LayersTotal || s.CoveredPrefix > s.LayersCovered || len(s.Layers) != int(layers) {
			t.Fatalf("inconsistent summary: %+v", s)
		}
		if s.Graph == nil || s.Graph.Records != len(p.Records) || s.Graph.Roots > len(p.Records) {
			t.Fatalf("inconsistent graph: %+v", s.Graph)
		}
		if s.Valid() && (s.RecordsWithLayers == 0 || s.LayersCovered == 0) {
			t.Fatalf("valid summary with nothing cached: %+v", s)
		}
	})
}
