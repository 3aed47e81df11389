package timings

import (
	"encoding/json"
	"time"

	"github.com/inlinecache/action/internal/progress"
)

// Verdict is what the cache did for a build's time.
type Verdict string

// Verdicts.
const (
	// Saved: the cached steps took longer when they ran than the build
	// spent on cache.
	Saved Verdict = "saved"
	// Cost: the build spent more on cache than its cached steps took when
	// they ran.
	Cost Verdict = "cost"
	// Nothing: nothing saved and nothing spent.
	Nothing Verdict = "none"
	// Partial: the build spent more outside its steps than its cached
	// steps with a recorded run time took, but some cached steps have no
	// time, or the cache's own part of that time is less than they took:
	// whether the cache paid off is not known, and no verdict is claimed.
	Partial Verdict = "partial"
	// Unknown: no cache source has a record, so there is no figure.
	Unknown Verdict = "unknown"
)

// Source is one cache source and the newest record beside it, or why
// there is none.
type Source struct {
	Ref string `json:"ref"`
	// Image is the digest the source resolved to; empty when nothing was
	// found there.
	Image string `json:"image,omitempty"`
	// Artifact is the digest of the record's artifact, and Created when
	// the record was made.
	Artifact string    `json:"artifact,omitempty"`
	Created  time.Time `json:"created,omitzero"`
	// Matched counts this build's cached steps whose time came from it.
	Matched int `json:"matchedSteps"`
	// Note says why the source gives no figure.
	Note   string  `json:"note,omitempty"`
	Record *Record `json:"-"`
}

// SavedStep is a cached step of this build and what it took when it ran.
type SavedStep struct {
	Name     string  `json:"name"`
	Platform string  `json:"platform,omitempty"`
	Seconds  float64 `json:"seconds"`
	// Image is the cache source image whose record gave the time.
	Image string `json:"image"`
}

// Savings is what a build's cache saved it, from the records of its cache
// sources. Times are seconds, one decimal; NetSeconds is SavedSeconds less
// CostSeconds as shown, so the figures a user reads add up.
type Savings struct {
	Verdict Verdict `json:"verdict"`
	// CachedSteps is how many steps of this build were cached, and
	// MatchedSteps how many of them a record gives a run time for.
	CachedSteps  int     `json:"cachedSteps"`
	MatchedSteps int     `json:"matchedSteps"`
	SavedSeconds float64 `json:"savedSeconds"`
	// The cost is all of the build's time outside the steps that
	// executed (progress.Overhead), so it is never understated:
	// CacheImportSeconds is the build's "importing cache manifest from …"
	// time; ExportSeconds its exporters', pushing included (with the
	// inline cache the cache is exported and pushed with the image, so
	// the whole export is counted against the cache); CachedStepSeconds
	// the time its cached steps took, pulling and unpacking their layers;
	// OtherSeconds the rest (base images, the build context, gaps).
	CacheImportSeconds float64     `json:"cacheImportSeconds"`
	ExportSeconds      float64     `json:"exportSeconds"`
	CachedStepSeconds  float64     `json:"cachedStepSeconds"`
	OtherSeconds       float64     `json:"otherSeconds"`
	CostSeconds        float64     `json:"costSeconds"`
	NetSeconds         float64     `json:"netSeconds"`
	Steps              []SavedStep `json:"steps,omitempty"`
	Sources            []Source    `json:"sources"`
}

// Compute works out what the cache saved build b: each cached step's time
// when it last ran, from the first source (in the build's import order)
// whose record has a step of the same name and platform, against all the
// time b spent outside the steps it executed. Without any record there is
// no figure (Unknown): none is invented.
func Compute(b *progress.Build, sources []Source) Savings {
	s := Savings{Sources: make([]Source, len(sources))}
	copy(s.Sources, sources)
	s.CachedSteps = b.CachedSteps()
	recorded := false
	// runs[i][key] are source i's run times for a step, in record order:
	// a step BuildKit names alike twice matches them in turn.
	runs := make([]map[string][]float64, len(sources))
	for i, src := range sources {
		if src.Record == nil {
			continue
		}
		recorded = true
		runs[i] = map[string][]float64{}
		for _, st := range src.Record.Steps {
			if st.RanSeconds != nil {
				k := key(st.Platform, st.Name)
				runs[i][k] = append(runs[i][k], *st.RanSeconds)
			}
		}
	}
	if !recorded {
		s.Verdict = Unknown
		return s
	}
	var saved float64
	for _, st := range b.Steps {
		if st.State != progress.Cached {
			continue
		}
		k := key(st.Platform, st.Name)
		for i := range sources {
			q := runs[i][k]
			if len(q) == 0 {
				continue
			}
			runs[i][k] = q[1:]
			saved += q[0]
			s.MatchedSteps++
			s.Sources[i].Matched++
			s.Steps = append(s.Steps, SavedStep{Name: st.Name, Platform: st.Platform, Seconds: q[0], Image: sources[i].Image})
			break
		}
	}
	s.SavedSeconds = progress.Tenth(saved)
	s.AddCost(b.Overhead())
	return s
}

// AddCost counts more time spent outside executed steps: the build's own,
// and that of the stage cache builds of cache-stages, which run beside
// the image's (their executed steps are credited to the image's build).
func (s *Savings) AddCost(o progress.Overhead) {
	if s.Verdict == Unknown {
		return
	}
	s.CacheImportSeconds = progress.Tenth(s.CacheImportSeconds + o.CacheImport.Seconds())
	s.ExportSeconds = progress.Tenth(s.ExportSeconds + o.Export.Seconds())
	s.CachedStepSeconds = progress.Tenth(s.CachedStepSeconds + o.CachedSteps.Seconds())
	s.OtherSeconds = progress.Tenth(s.OtherSeconds + o.Other.Seconds())
	s.CostSeconds = progress.Tenth(s.CacheImportSeconds + s.ExportSeconds + s.CachedStepSeconds + s.OtherSeconds)
	s.NetSeconds = progress.Tenth(s.SavedSeconds - s.CostSeconds)
	switch {
	case s.NetSeconds >= 0 && s.SavedSeconds > 0:
		// Against all of the time outside steps: at least this much.
		s.Verdict = Saved
	case s.CachedSteps == 0 || (s.SavedSeconds == 0 && s.CostSeconds == 0):
		s.Verdict = Nothing
	case s.MatchedSteps == s.CachedSteps && s.SavedSeconds < s.CacheCostSeconds():
		// What the cache itself took (its import and export) is more
		// than every cached step saved.
		s.Verdict = Cost
	default:
		// Steps without a figure may have saved the difference, or the
		// loss is in time outside steps that a build without cache
		// spends too (base images, the context).
		s.Verdict = Partial
	}
}

// CacheCostSeconds is the part of the cost the cache certainly took:
// importing it, and exporting and pushing. Cached steps pulling their
// layers also pull the base image's layers under them (measured on
// goservice: a stage cache's cached `go mod download` pulled the Go
// image that a build without cache pulls under FROM), so that time, like
// base images and the build context, counts against a saving but never
// makes a "cost more" verdict.
func (s Savings) CacheCostSeconds() float64 {
	return progress.Tenth(s.CacheImportSeconds + s.ExportSeconds)
}

// Unmatched is how many cached steps have no recorded run time.
func (s Savings) Unmatched() int { return max(0, s.CachedSteps-s.MatchedSteps) }

// MarshalJSON leaves the figures out when there are none, so that no
// reader takes a zero for a measurement.
func (s Savings) MarshalJSON() ([]byte, error) {
	type plain Savings
	if s.Verdict != Unknown {
		return json.Marshal(plain(s))
	}
	return json.Marshal(struct {
		Verdict     Verdict  `json:"verdict"`
		CachedSteps int      `json:"cachedSteps"`
		Sources     []Source `json:"sources"`
	}{s.Verdict, s.CachedSteps, s.Sources})
}

// Images are the source images whose records gave times, in source order.
func (s Savings) Images() []string {
	var out []string
	for _, src := range s.Sources {
		if src.Matched > 0 {
			out = append(out, src.Image)
		}
	}
	return out
}
