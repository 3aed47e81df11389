package progress

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCapturedCases checks what each real build did, by hand, in both
// formats: the goldens only say that nothing changed.
func TestCapturedCases(t *testing.T) {
	t.Parallel()
	bk := filepath.Join(captures, "buildkit-v0.34.2")
	dd := filepath.Join(captures, "dockerd-20.10")
	type want struct {
		cached, total, hit int
		platforms          []string
		check              func(t *testing.T, b *Build)
	}
	cases := map[string]want{
		// testdata/app: COPY, RUN ×3, COPY, RUN; FROM scratch is no step.
		"single":                        {cached: 0, total: 6},
		"../dockerd-20.10/docker-build": {cached: 0, total: 6},
		// Three stages, ten instructions; the three "COPY busybox" onto
		// scratch are one vertex, so one step.
		"multistage": {cached: 0, total: 8, check: func(t *testing.T, b *Build) {
			if len(b.Stages) != 3 {
				t.Errorf("stages %+v", b.Stages)
			}
		}},
		// Rebuilt on a pruned builder from the pushed image's inline cache.
		"multistage-rebuild": {cached: 8, total: 8, hit: 100, check: func(t *testing.T, b *Build) {
			if b.CacheImport <= 0 || b.UncachedSeconds() != 0 {
				t.Errorf("cache import %s, uncached %v", b.CacheImport, b.UncachedSeconds())
			}
		}},
		// Only the last RUN changed: the COPY before it is cached though
		// its layers were pulled (plain prints no CACHED for it).
		"multistage-changed": {cached: 7, total: 8, hit: 87, check: func(t *testing.T, b *Build) {
			ran := b.Executed()
			if len(ran) != 1 || !strings.Contains(ran[0].Text, "cat artifact.txt asset.txt") || ran[0].Duration <= 0 {
				t.Errorf("ran %+v", ran)
			}
			i := slices.IndexFunc(b.Steps, func(s Step) bool { return strings.HasPrefix(s.Text, "COPY --from=assets") })
			if i < 0 || b.Steps[i].State != Cached || !b.Steps[i].PulledLayers {
				t.Errorf("the COPY whose layers were pulled: %+v", b.Steps[max(i, 0)])
			}
		}},
		"multi-platform": {cached: 0, total: 11, platforms: []string{"linux/386", "linux/amd64"}},
		"failing": {cached: 0, total: 3, check: func(t *testing.T, b *Build) {
			f := b.Failure
			if f == nil || f.Step == nil {
				t.Fatalf("failure %+v", f)
			}
			if f.File != "Dockerfile" || f.Line != 6 || f.Step.Index != 3 || f.Step.State != Failed ||
				!strings.Contains(f.Message, "exit code: 3") || !slices.Equal(f.Step.Log, []string{"about to fail", "on stderr"}) {
				t.Errorf("failure %+v, step %+v", f, f.Step)
			}
		}},
		// Interrupted once the RUN had started: BuildKit ends it with
		// "context canceled" (plain: CANCELED); buildx says why.
		"canceled": {cached: 0, total: 2, check: func(t *testing.T, b *Build) {
			if got := stepList(b); !slices.Equal(got, []string{"1/2 COPY busybox /bin/busybox ran", `2/2 RUN ["/bin/busybox", "sleep", "120"] canceled`}) || b.Complete() {
				t.Errorf("steps %q, complete %v", got, b.Complete())
			}
			if f := b.Failure; f == nil || f.Step != nil || !strings.HasSuffix(f.Message, "Canceled: context canceled") {
				t.Errorf("failure %+v", f)
			}
		}},
		"warning": {cached: 0, total: 3, check: func(t *testing.T, b *Build) {
			var got []string
			for _, w := range b.Warnings {
				rule, _, _ := strings.Cut(w.Message, ":")
				got = append(got, rule+":"+strconv.Itoa(w.Line))
			}
			if want := []string{"FromAsCasing:4", "JSONArgsRecommended:8"}; !slices.Equal(got, want) {
				t.Errorf("warnings %q, want %q", got, want)
			}
		}},
	}
	for name, w := range cases {
		for _, ext := range []string{".rawjson", ".plain"} {
			path := filepath.Join(bk, name+ext)
			if strings.HasPrefix(name, "../") {
				path = filepath.Join(dd, strings.TrimPrefix(name, "../dockerd-20.10/")+ext)
				if ext == ".rawjson" {
					continue // docker build 20.10 has plain only
				}
			}
			t.Run(name+ext, func(t *testing.T) {
				b := read(t, path)
				checkConsistent(t, b)
				if b.CachedSteps() != w.cached || b.TotalSteps() != w.total || b.CacheHit() != w.hit {
					t.Errorf("%d/%d cached, hit %d; want %d/%d, %d\n%s", b.CachedSteps(), b.TotalSteps(), b.CacheHit(), w.cached, w.total, w.hit, strings.Join(stepList(b), "\n"))
				}
				if ext == ".rawjson" && !slices.Equal(b.Platforms, w.platforms) {
					t.Errorf("platforms %q, want %q", b.Platforms, w.platforms)
				}
				if (w.check == nil) != (b.Failure == nil && len(b.Warnings) == 0) && !strings.HasPrefix(name, "multi") {
					t.Errorf("unexpected failure %+v or warnings %+v", b.Failure, b.Warnings)
				}
				if w.check != nil {
					w.check(t, b)
				}
			})
		}
	}
	// buildx's docker driver on dockerd 20.10 gives rawjson too.
	for _, ext := range []string{".rawjson", ".plain"} {
		b := read(t, filepath.Join(dd, "buildx-docker-driver"+ext))
		if b.TotalSteps() != 6 || b.CachedSteps() != 0 || b.Failure != nil {
			t.Errorf("docker driver %s: %d/%d, failure %+v", ext, b.CachedSteps(), b.TotalSteps(), b.Failure)
		}
	}
}
