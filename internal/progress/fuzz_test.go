package progress

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead feeds the readers any bytes, seeded with the real captured
// streams: no panic, and a model whose numbers add up.
func FuzzRead(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("..", "..", "testdata", "progress", "*", "*.rawjson"))
	if err != nil {
		f.Fatal(err)
	}
	plain, err := filepath.Glob(filepath.Join("..", "..", "testdata", "progress", "*", "*.plain"))
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, plain...)
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, filepath.Ext(p) == ".plain")
	}
	f.Add(encode(f, sample(), false), false)
	f.Add(encode(f, sample(), true), false)
	f.Fuzz(func(t *testing.T, in []byte, plain bool) {
		format := RawJSON
		if plain {
			format = Plain
		}
		var out bytes.Buffer
		b, err := Read(bytes.NewReader(in), format, WithRender(&out), WithLogTail(3), WithMaxVertices(64))
		if err != nil {
			t.Fatal(err)
		}
		checkConsistent(t, b)
	})
}
