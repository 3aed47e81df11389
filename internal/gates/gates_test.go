package gates

import (
	"reflect"
	"testing"

	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/verify"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	inline := verify.Source{Ref: "r.example/app:main", State: verify.SourceInline, Cached: []string{"linux/amd64"}, Importable: true}
	missing := verify.Source{Ref: "r.example/app:pr-7", State: verify.SourceNotFound}
	noCache := verify.Source{Ref: "r.example/app:plain", State: verify.SourceNoCache, Uncached: []string{"linux/amd64"}}
	both := inputs.CacheSources{MinCacheHit: 80, RequireCacheSource: true}
	for _, tc := range []struct {
		name    string
		c       inputs.CacheSources
		steps   Steps
		sources []verify.Source
		want    []Finding
	}{
		{"gates off", inputs.CacheSources{}, Steps{0, 10}, nil, nil},
		{"both met", both, Steps{8, 10}, []verify.Source{missing, inline}, nil},
		{"cache hit too low", both, Steps{7, 10}, []verify.Source{inline}, []Finding{
			{Input: "min-cache-hit", Failed: true, Message: "min-cache-hit 80%: only 7 of 10 steps (70%) came from the cache"}}},
		{"first build", both, Steps{0, 10}, []verify.Source{missing}, []Finding{
			{Input: "require-cache-source", Message: "require-cache-source: no cache source exists yet (r.example/app:pr-7): a first build, so the gate passes"},
			{Input: "min-cache-hit", Message: "min-cache-hit 80%: not applied, no cache source was imported"}}},
		{"sources that import nothing", inputs.CacheSources{RequireCacheSource: true}, Steps{0, 10}, []verify.Source{missing, noCache}, []Finding{
			{Input: "require-cache-source", Failed: true, Message: "require-cache-source: none of the cache sources could be imported: " + noCache.Message()}}},
		{"no sources at all", inputs.CacheSources{RequireCacheSource: true}, Steps{0, 10}, nil, []Finding{
			{Input: "require-cache-source", Failed: true, Message: "require-cache-source: the build has no cache source: no tag is pushed and cache-from is empty"}}},
		{"no steps", inputs.CacheSources{MinCacheHit: 50}, Steps{0, 0}, []verify.Source{inline}, []Finding{
			{Input: "min-cache-hit", Message: "min-cache-hit 50%: not applied, the build has no Dockerfile steps to count"}}},
		{"exactly the minimum", inputs.CacheSources{MinCacheHit: 50}, Steps{1, 2}, []verify.Source{inline}, nil},
		{"just under", inputs.CacheSources{MinCacheHit: 34}, Steps{1, 3}, []verify.Source{inline}, []Finding{
			{Input: "min-cache-hit", Failed: true, Message: "min-cache-hit 34%: only 1 of 3 steps (33%) came from the cache"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Check(tc.c, tc.steps, tc.sources); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
