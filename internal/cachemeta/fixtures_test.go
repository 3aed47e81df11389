package cachemeta_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	cachetypes "github.com/moby/buildkit/cache/remotecache/v1/types"

	"github.com/inlinecache/action/internal/cachemeta"
	"github.com/inlinecache/action/internal/fixtures"
)

const fixtureRoot = "../../testdata/cachemeta"

// want is what a fixture's Dockerfile implies for each platform image.
type want struct {
	layers int
	chains bool
	// cached are the steps (created_by, without BuildKit's suffix) that
	// must show as cached, bottom first.
	cached []string
}

// appSteps are testdata/app's layer-making steps.
var appSteps = []string{
	"COPY busybox /bin/busybox",
	"RUN /bin/busybox --install -s /bin",
	`RUN /bin/sh -c echo "first step" > /one.txt && sleep 1`,
}

var fixtureWants = map[string]want{
	"buildkit-v0.34.2/single":            {layers: 6},
	"buildkit-v0.34.2/multi-platform":    {layers: 6},
	"dockerd-20.10/buildx-docker-driver": {layers: 6},
	"dockerd-20.10/docker-build":         {layers: 6},
	"buildkit-v0.34.2/multistage":        {layers: 4, cached: []string{"COPY busybox /bin/busybox", "COPY /artifact.txt /artifact.txt", "COPY hello.txt /hello.txt"}},
	"buildkit-v0.34.2/copy-link":         {layers: 5, chains: true, cached: []string{"COPY busybox /bin/busybox", "RUN /bin/busybox --install -s /bin", "COPY hello.txt /hello.txt", "RUN /bin/sh -c cat /hello.txt > /copy.txt", "COPY extra.txt /extra.txt"}},
}

// TestRealBuilderFixtures decodes what real builders pushed: every
// platform valid, every layer reachable, every layer named by its step.
func TestRealBuilderFixtures(t *testing.T) {
	dirs, err := fixtures.Dirs(fixtureRoot)
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures under %s: %v", fixtureRoot, err)
	}
	seen := 0
	for _, dir := range dirs {
		rel, _ := filepath.Rel(fixtureRoot, dir)
		t.Run(rel, func(t *testing.T) {
			f, err := fixtures.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			imgs, err := f.Images()
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(rel, "registry-cache") {
				if len(imgs) != 0 {
					t.Fatalf("a registry cache has no platform images, found %d", len(imgs))
				}
				checkRegistryCacheFixture(t, f)
				return
			}
			w, ok := fixtureWants[rel]
			if !ok {
				t.Fatalf("fixture %s has no expectations in fixtureWants", rel)
			}
			seen++
			if len(imgs) == 0 {
				t.Fatal("no platform images")
			}
			for _, img := range imgs {
				p, err := cachemeta.Decode(img.Config)
				if err != nil {
					t.Fatalf("%s: %v", img.Platform, err)
				}
				s := cachemeta.Analyze(p, len(img.Manifest.Layers))
				if !s.Valid() || len(s.Notes) > 0 {
					t.Errorf("%s: problems %q notes %q", img.Platform, s.Problems, s.Notes)
				}
				if s.LayersTotal != w.layers || s.LayersCovered != w.layers || s.CoveredPrefix != w.layers {
					t.Errorf("%s: covered %d (prefix %d) of %d, want all %d", img.Platform, s.LayersCovered, s.CoveredPrefix, s.LayersTotal, w.layers)
				}
				if (s.Graph.Chains > 0) != w.chains {
					t.Errorf("%s: %d chains, want chains=%v", img.Platform, s.Graph.Chains, w.chains)
				}
				if s.Graph.Roots == 0 || s.Graph.Links == 0 || s.Graph.MaxDepth == 0 {
					t.Errorf("%s: graph %+v", img.Platform, *s.Graph)
				}
				steps := s.CachedSteps()
				if len(steps) != w.layers {
					t.Errorf("%s: cached steps %q, want %d", img.Platform, steps, w.layers)
				}
				expect := w.cached
				if expect == nil {
					expect = appSteps
				}
				for i, e := range expect {
					if i >= len(steps) || strings.TrimSuffix(steps[i], " # buildkit") != e {
						t.Errorf("%s: cached step %d = %q, want %q", img.Platform, i, at(steps, i), e)
					}
				}
			}
		})
	}
	if seen < len(fixtureWants) {
		t.Errorf("checked %d fixtures, expected %d", seen, len(fixtureWants))
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}

// TestBrokenPayloads changes a real payload in each way that breaks it.
func TestBrokenPayloads(t *testing.T) {
	f, err := fixtures.Load(filepath.Join(fixtureRoot, "buildkit-v0.34.2", "copy-link"))
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := f.Images()
	if err != nil || len(imgs) != 1 {
		t.Fatalf("images %v: %v", imgs, err)
	}
	base := imgs[0]
	layers := len(base.Manifest.Layers)
	var cfg map[string]any
	if err := json.Unmarshal(base.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	records := func() []cachetypes.CacheRecord {
		p, err := cachemeta.Decode(base.Config)
		if err != nil {
			t.Fatal(err)
		}
		return p.Records
	}
	withKey := func(v any) []byte {
		c := map[string]any{}
		for k, x := range cfg {
			c[k] = x
		}
		c[cachemeta.ConfigKey] = v
		b, _ := json.Marshal(c)
		return b
	}
	encode := func(recs []cachetypes.CacheRecord) []byte {
		b, _ := json.Marshal(recs)
		return withKey(base64.StdEncoding.EncodeToString(b))
	}
	findChain := func(recs []cachetypes.CacheRecord) int {
		for i, r := range recs {
			if len(r.ChainedResults) > 0 {
				return i
			}
		}
		t.Fatal("fixture has no chain")
		return 0
	}
	findLinked := func(recs []cachetypes.CacheRecord) int {
		for i, r := range recs {
			if len(r.Inputs) > 0 {
				return i
			}
		}
		t.Fatal("fixture has no links")
		return 0
	}
	tests := []struct {
		name   string
		config func() []byte
		layers int
		says   string
	}{
		{"not base64", func() []byte { return withKey("not*base64!") }, layers, "is not base64"},
		{"not JSON", func() []byte { return withKey(base64.StdEncoding.EncodeToString([]byte("[{"))) }, layers, "is not a JSON array of cache records"},
		{"empty payload", func() []byte { return withKey("") }, layers, "is empty"},
		{"no records", func() []byte { return withKey(base64.StdEncoding.EncodeToString([]byte("[]"))) }, layers, "holds no cache records"},
		{"not a string", func() []byte { return withKey(42) }, layers, "is not a string"},
		{"layer index out of range", func() []byte {
			recs := records()
			recs[0].Results = []cachetypes.CacheResult{{LayerIndex: layers}}
			return encode(recs)
		}, layers, "result layer index 5 is out of range (the image has 5 layers)"},
		{"chain index out of range", func() []byte {
			recs := records()
			i := findChain(recs)
			recs[i].ChainedResults[0].LayerIndexes = []int{0, 9}
			return encode(recs)
		}, layers, "chain 0 layer index 9 is out of range"},
		{"link index out of range", func() []byte {
			recs := records()
			i := findLinked(recs)
			recs[i].Inputs[0][0].LinkIndex = len(recs) + 2
			return encode(recs)
		}, layers, "input link 12 is out of range (the cache has 10 records)"},
		{"empty input", func() []byte {
			recs := records()
			i := findLinked(recs)
			recs[i].Inputs[0] = nil
			return encode(recs)
		}, layers, "lists no link"},
		{"link cycle", func() []byte {
			recs := records()
			// Make a root link to a record that (through its inputs)
			// depends on it.
			i := findLinked(recs)
			j := recs[i].Inputs[0][0].LinkIndex
			recs[j].Inputs = append(recs[j].Inputs, []cachetypes.CacheInput{{LinkIndex: i}})
			return encode(recs)
		}, layers, "records link in a cycle"},
		{"self link", func() []byte {
			recs := records()
			recs[2].Inputs = [][]cachetypes.CacheInput{{{LinkIndex: 2}}}
			return encode(recs)
		}, layers, "records link in a cycle (2 → 2)"},
		{"diff_ids count differs from layers", func() []byte { return base.Config }, layers + 1, "config lists 5 rootfs.diff_ids but the manifest has 6 layers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := cachemeta.Decode(tt.config())
			var got string
			if err != nil {
				got = err.Error()
			} else {
				s := cachemeta.Analyze(p, tt.layers)
				if s.Valid() {
					t.Fatalf("broken payload is valid: %+v", s)
				}
				got = strings.Join(s.Problems, "\n")
			}
			if !strings.Contains(got, tt.says) {
				t.Errorf("got %q, want it to say %q", got, tt.says)
			}
		})
	}
}

// TestSizeLimit refuses a payload over the limit before decoding it.
func TestSizeLimit(t *testing.T) {
	big := strings.Repeat("A", cachemeta.MaxPayloadBytes/3*4+8)
	_, err := cachemeta.DecodePayload(big)
	if err == nil || !strings.Contains(err.Error(), "byte limit") {
		t.Errorf("err = %v", err)
	}
	cfg := make([]byte, cachemeta.MaxConfigBytes+1)
	if _, err := cachemeta.Decode(cfg); err == nil || !strings.Contains(err.Error(), "byte limit") {
		t.Errorf("err = %v", err)
	}
}

// checkRegistryCacheFixture decodes a captured type=registry cache: its
// config references exactly the layers its manifest lists, and every
// record links and points where BuildKit's importer can follow.
func checkRegistryCacheFixture(t *testing.T, f *fixtures.Fixture) {
	t.Helper()
	m, err := v1.ParseManifest(bytes.NewReader(f.Top))
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Config.MediaType) != cachemeta.RegistryCacheConfigMediaType {
		t.Fatalf("config media type %s", m.Config.MediaType)
	}
	c, err := cachemeta.DecodeCacheConfig(f.Configs[m.Config.Digest.Hex])
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, l := range m.Layers {
		listed = append(listed, l.Digest.String())
	}
	s := cachemeta.AnalyzeCacheConfig(c, listed)
	// testdata/app with mode=max: 6 layers, 8 records of which 6 hold one.
	if !s.Valid() || s.ConfigLayers != len(listed) || s.ConfigLayers != 6 || s.Records != 8 || s.RecordsWithLayers != 6 {
		t.Errorf("registry cache summary = %+v (problems %q), want valid with 6 layers and 8 records, 6 with layers", s, s.Problems)
	}
	if g := s.Graph; g.Roots == 0 || g.Links == 0 || g.MaxDepth == 0 {
		t.Errorf("graph %+v", *g)
	}
}
