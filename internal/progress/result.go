package progress

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// CachedSteps is how many steps came from the cache.
func (b *Build) CachedSteps() int { return b.count(Cached) }

// TotalSteps is how many Dockerfile steps the build had (every platform's).
func (b *Build) TotalSteps() int { return len(b.Steps) }

func (b *Build) count(s State) int {
	n := 0
	for _, st := range b.Steps {
		if st.State == s {
			n++
		}
	}
	return n
}

// CacheHit is the cached share of the steps, 0–100, rounded down (100
// only when every step was cached); 0 for a build without steps.
func (b *Build) CacheHit() int {
	if len(b.Steps) == 0 {
		return 0
	}
	return b.CachedSteps() * 100 / len(b.Steps)
}

// UncachedSeconds is the time spent in steps that executed (ran or
// failed), one decimal.
func (b *Build) UncachedSeconds() float64 {
	var d time.Duration
	for _, s := range b.Steps {
		if s.State == Ran || s.State == Failed {
			d += s.Duration
		}
	}
	return seconds(d)
}

func seconds(d time.Duration) float64 { return Tenth(d.Seconds()) }

// Tenth rounds seconds to a tenth, as every time in a report is shown.
func Tenth(s float64) float64 { return math.Round(s*10) / 10 }

// Executed returns the steps that ran or failed, slowest first.
func (b *Build) Executed() []Step {
	var out []Step
	for _, s := range b.Steps {
		if s.State == Ran || s.State == Failed {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(x, y Step) int { return cmp.Compare(y.Duration, x.Duration) })
	return out
}

// Complete reports whether every step ended (cached, ran or failed):
// false for a cancelled build or a truncated stream.
func (b *Build) Complete() bool {
	for _, s := range b.Steps {
		if s.State == Incomplete || s.State == Canceled {
			return false
		}
	}
	return true
}

// Report is the JSON form of a build's steps, for a cache-report file:
// times in seconds.
type Report struct {
	CachedSteps        int            `json:"cachedSteps"`
	TotalSteps         int            `json:"totalSteps"`
	CacheHit           int            `json:"cacheHit"`
	UncachedSeconds    float64        `json:"uncachedSeconds"`
	WallSeconds        float64        `json:"wallSeconds"`
	CacheImportSeconds float64        `json:"cacheImportSeconds"`
	ExportSeconds      float64        `json:"exportSeconds"`
	PushSeconds        float64        `json:"pushSeconds"`
	Complete           bool           `json:"complete"`
	Stages             []ReportStage  `json:"stages"`
	Steps              []ReportStep   `json:"steps"`
	Warnings           []BuildWarning `json:"warnings,omitempty"`
	Failure            *ReportFailure `json:"failure,omitempty"`
	Source             string         `json:"source"` // rawjson or plain
}

// ReportStage is one stage of one platform.
type ReportStage struct {
	Platform   string  `json:"platform,omitempty"`
	Name       string  `json:"name"`
	Steps      int     `json:"steps"`
	Cached     int     `json:"cached"`
	Ran        int     `json:"ran"`
	Failed     int     `json:"failed,omitempty"`
	RunSeconds float64 `json:"runSeconds"`
}

// ReportStep is one step.
type ReportStep struct {
	Platform    string  `json:"platform,omitempty"`
	Stage       string  `json:"stage,omitempty"`
	Index       int     `json:"index"`
	Instruction string  `json:"instruction"`
	Text        string  `json:"text"`
	State       State   `json:"state"`
	Start       float64 `json:"startSeconds"` // from the build's start
	Seconds     float64 `json:"seconds"`
}

// ReportFailure is where and why the build failed.
type ReportFailure struct {
	Message string   `json:"message"`
	Step    string   `json:"step,omitempty"`
	File    string   `json:"file,omitempty"`
	Line    int      `json:"line,omitempty"`
	Log     []string `json:"log,omitempty"`
}

// Report returns the JSON form.
func (b *Build) Report() Report {
	r := Report{
		CachedSteps: b.CachedSteps(), TotalSteps: b.TotalSteps(), CacheHit: b.CacheHit(),
		UncachedSeconds: b.UncachedSeconds(), WallSeconds: seconds(b.Wall),
		CacheImportSeconds: seconds(b.CacheImport), ExportSeconds: seconds(b.Export), PushSeconds: seconds(b.Push),
		Complete: b.Complete(), Warnings: b.Warnings, Source: b.Format,
		Stages: []ReportStage{}, Steps: []ReportStep{},
	}
	for _, s := range b.Stages {
		r.Stages = append(r.Stages, ReportStage{Platform: s.Platform, Name: stageName(s.Name), Steps: s.Steps, Cached: s.Cached, Ran: s.Ran, Failed: s.Failed, RunSeconds: seconds(s.Run)})
	}
	for _, s := range b.Steps {
		r.Steps = append(r.Steps, ReportStep{Platform: s.Platform, Stage: s.Stage, Index: s.Index, Instruction: s.Instruction, Text: s.Text, State: s.State, Start: b.offset(s.Start), Seconds: seconds(s.Duration)})
	}
	if f := b.Failure; f != nil {
		r.Failure = &ReportFailure{Message: f.Message, File: f.File, Line: f.Line}
		if f.Step != nil {
			r.Failure.Step, r.Failure.Log = f.Step.Name, f.Step.Log
		}
	}
	return r
}

// offset is t in seconds from the build's start.
func (b *Build) offset(t time.Time) float64 {
	if t.IsZero() || b.Start.IsZero() {
		return 0
	}
	return seconds(t.Sub(b.Start))
}

// stageName names the unnamed stage of a single-stage build.
func stageName(s string) string {
	if s == "" {
		return "(build)"
	}
	return s
}

// Gantt draws the build as a Mermaid gantt chart (GitHub renders it in job
// summaries): a section per stage and platform with its steps as bars on
// their real start and duration, cached steps tagged done and failed ones
// crit, and a section for cache import, export and push. Times are
// milliseconds from the build's start. A plain stream has no real start
// times: its steps are laid end to end.
func (b *Build) Gantt() string {
	var sb strings.Builder
	sb.WriteString("gantt\n    title Build timeline (cached steps greyed)\n    dateFormat x\n    axisFormat %M:%S\n")
	at := func(t time.Time) int64 {
		if t.IsZero() || b.Start.IsZero() {
			return 0
		}
		return max(0, t.Sub(b.Start).Milliseconds())
	}
	var cursor int64 // plain: lay steps end to end
	bar := func(name, tag string, start int64, d time.Duration) {
		end := start + max(1, d.Milliseconds())
		if tag != "" {
			tag += ", "
		}
		fmt.Fprintf(&sb, "    %s :%s%d, %d\n", ganttText(name), tag, start, end)
	}
	section := ""
	for _, s := range b.Steps {
		sec := stageName(s.Stage)
		if s.Platform != "" {
			sec = s.Platform + " " + sec
		}
		if sec != section {
			section = sec
			fmt.Fprintf(&sb, "    section %s\n", ganttText(sec))
		}
		tag := ""
		switch s.State {
		case Cached:
			tag = "done"
		case Failed:
			tag = "crit"
		case Ran:
			tag = "active"
		}
		start := at(s.Start)
		if b.Format == "plain" {
			start = cursor
			cursor += max(1, s.Duration.Milliseconds())
		}
		bar(fmt.Sprintf("%d/%d %s", s.Index, s.Total, s.Text), tag, start, s.Duration)
	}
	first := true
	for _, sp := range b.Spans {
		if sp.Kind != KindCacheImport && sp.Kind != KindExport || sp.Start.IsZero() {
			continue
		}
		if first {
			sb.WriteString("    section cache and export\n")
			first = false
		}
		bar(sp.Name, "", at(sp.Start), sp.Duration)
	}
	return sb.String()
}

// ganttText keeps a name from breaking Mermaid's syntax (":" ends a task
// name, "#" and ";" start comments and entities) and short.
func ganttText(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ':', ';', '#', '\n', '\r', '\t':
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	return strings.TrimSpace(s)
}

// CreditRuns gives b's cached steps that an earlier build of the same run
// executed (a stage cache build on the same builder, whose work b found
// in the builder's cache) the state and time they had there, matched by
// name and platform: in this run they ran once, in that build. It returns
// how many steps it changed.
func (b *Build) CreditRuns(earlier ...*Build) int {
	ran := map[string]Step{}
	for _, e := range earlier {
		if e == nil {
			continue
		}
		for _, s := range e.Steps {
			if s.State == Ran {
				ran[s.Platform+"\x00"+s.Name] = s
			}
		}
	}
	n := 0
	for i, s := range b.Steps {
		if e, ok := ran[s.Platform+"\x00"+s.Name]; ok && s.State == Cached {
			b.Steps[i].State, b.Steps[i].Duration, b.Steps[i].PulledLayers = Ran, e.Duration, false
			n++
		}
	}
	if n > 0 {
		b.Stages = stages(b.Steps)
	}
	return n
}

// CacheExport is the time the build spent exporting cache to a registry
// or elsewhere besides the image (BuildKit's "exporting cache to …"
// vertices); the inline cache is written with the image and not counted.
func (b *Build) CacheExport() time.Duration {
	var d time.Duration
	for _, s := range b.Spans {
		if s.Kind == KindExport && strings.HasPrefix(s.Name, "exporting cache") {
			d += s.Duration
		}
	}
	return d
}

// Overhead is a build's wall time outside the steps that executed, in
// disjoint parts that add up to it: what the build spent besides doing
// the work of its steps.
type Overhead struct {
	// CacheImport is "importing cache manifest from …".
	CacheImport time.Duration
	// Export is the exporters, pushing included, where no cache import
	// overlaps them.
	Export time.Duration
	// CachedSteps is the time of cached steps outside the above: BuildKit
	// shows a cached step's vertex while it pulls and unpacks the step's
	// layers from a cache source (a COPY --from that needs the whole
	// stage it copies from, for one).
	CachedSteps time.Duration
	// Other is the rest: base image resolution, the build context,
	// the gaps between vertices.
	Other time.Duration
}

// Total is the whole time outside executed steps.
func (o Overhead) Total() time.Duration { return o.CacheImport + o.Export + o.CachedSteps + o.Other }

// Overhead splits the build's wall time outside the steps that ran or
// failed by what filled it; a moment covered by several kinds counts once,
// for the first of cache import, export, cached steps. A stream without
// vertex times (plain) gives each kind its own total and the remainder
// to Other.
func (b *Build) Overhead() Overhead {
	var o Overhead
	if b.Wall <= 0 {
		return o
	}
	var ran, cached []interval
	timed := !b.Start.IsZero()
	for _, s := range b.Steps {
		iv := interval{s.Start, s.Start.Add(s.Duration)}
		if s.Start.IsZero() && s.Duration > 0 {
			timed = false
		}
		switch s.State {
		case Ran, Failed:
			ran = append(ran, iv)
		case Cached:
			cached = append(cached, iv)
		}
	}
	var imports, exports []interval
	for _, sp := range b.Spans {
		iv := interval{sp.Start, sp.Start.Add(sp.Duration)}
		if sp.Start.IsZero() && sp.Duration > 0 {
			timed = false
		}
		switch sp.Kind {
		case KindCacheImport:
			imports = append(imports, iv)
		case KindExport:
			exports = append(exports, iv)
		}
	}
	if !timed || b.Format == "plain" {
		var r, c time.Duration
		for _, s := range b.Steps {
			switch s.State {
			case Ran, Failed:
				r += s.Duration
			case Cached:
				c += s.Duration
			}
		}
		o.CacheImport, o.Export, o.CachedSteps = b.CacheImport, b.Export, c
		o.Other = max(0, b.Wall-r-o.CacheImport-o.Export-o.CachedSteps)
		return o
	}
	// A sweep over the intervals' ends, counting how many of each kind
	// are open: n log n, whatever the build's size.
	const (
		kRan = iota
		kImport
		kExport
		kCached
	)
	type event struct {
		at    time.Time
		kind  int
		delta int
	}
	var events []event
	for kind, set := range [][]interval{ran, imports, exports, cached} {
		for _, iv := range set {
			if iv.end.After(iv.start) {
				events = append(events, event{iv.start, kind, 1}, event{iv.end, kind, -1})
			}
		}
	}
	slices.SortFunc(events, func(a, b event) int { return a.at.Compare(b.at) })
	end := b.Start.Add(b.Wall)
	var open [4]int
	cur := b.Start
	account := func(to time.Time) {
		if to.After(end) {
			to = end
		}
		if !to.After(cur) {
			return
		}
		d := to.Sub(cur)
		switch {
		case open[kRan] > 0:
		case open[kImport] > 0:
			o.CacheImport += d
		case open[kExport] > 0:
			o.Export += d
		case open[kCached] > 0:
			o.CachedSteps += d
		default:
			o.Other += d
		}
		cur = to
	}
	for _, e := range events {
		if e.at.After(cur) {
			account(e.at)
		}
		open[e.kind] += e.delta
	}
	account(end)
	return o
}
