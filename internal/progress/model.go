package progress

import (
	"bytes"
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// State is what became of a step.
type State string

const (
	// Cached: BuildKit took the step's result from its cache and did not
	// execute it, even when the cached layers had to be pulled.
	Cached State = "cached"
	// Ran: BuildKit executed the step and it succeeded.
	Ran State = "ran"
	// Failed: the step executed and failed.
	Failed State = "failed"
	// Canceled: the step was stopped because another one failed or the
	// build was cancelled.
	Canceled State = "canceled"
	// Incomplete: the stream ended before the step did (a killed build,
	// a truncated stream), or it never started.
	Incomplete State = "incomplete"
)

// Step is one Dockerfile step of the build: a RUN, COPY, ADD or WORKDIR
// (the instructions that make a vertex), for one platform. FROM is not a
// step (see Base); neither are ARG, ENV and the like, which make none.
type Step struct {
	// Vertex is the #N buildx shows for it.
	Vertex int    `json:"vertex"`
	Digest string `json:"digest,omitempty"`
	// Name is the vertex name, e.g. "[linux/386 builder 3/5] RUN make".
	Name     string `json:"name"`
	Platform string `json:"platform,omitempty"`
	// Stage is the stage name, "" for a single unnamed stage.
	Stage string `json:"stage,omitempty"`
	// Index and Total are the stage's [N/M]; FROM is 1.
	Index int `json:"index"`
	Total int `json:"total"`
	// Instruction is the keyword (RUN); Text the instruction as written.
	Instruction string        `json:"instruction"`
	Text        string        `json:"text"`
	State       State         `json:"state"`
	Start       time.Time     `json:"start,omitzero"`
	Duration    time.Duration `json:"duration"`
	Error       string        `json:"error,omitempty"`
	// Log is the last lines the step wrote (WithLogTail).
	Log []string `json:"log,omitempty"`
	// PulledLayers is set when the step's cached layers were downloaded.
	PulledLayers bool `json:"pulledLayers,omitempty"`
}

// Stage sums a stage's steps for one platform.
type Stage struct {
	Platform string        `json:"platform,omitempty"`
	Name     string        `json:"name"`
	Steps    int           `json:"steps"`
	Cached   int           `json:"cached"`
	Ran      int           `json:"ran"`
	Failed   int           `json:"failed"`
	Other    int           `json:"other"`
	Run      time.Duration `json:"run"` // time spent in steps that executed
}

// Span is a piece of the build that is not a Dockerfile step: base image
// resolution, a cache import, an export, a push.
type Span struct {
	Kind     Kind          `json:"kind"`
	Name     string        `json:"name"`
	Platform string        `json:"platform,omitempty"`
	Start    time.Time     `json:"start,omitzero"`
	Duration time.Duration `json:"duration"`
	Cached   bool          `json:"cached,omitempty"`
	Error    string        `json:"error,omitempty"`
}

// BuildWarning is a build check or frontend warning, with the Dockerfile
// line when BuildKit gave one.
type BuildWarning struct {
	Level   int      `json:"level,omitempty"`
	Message string   `json:"message"`
	Detail  []string `json:"detail,omitempty"`
	URL     string   `json:"url,omitempty"`
	File    string   `json:"file,omitempty"`
	Line    int      `json:"line,omitempty"`
	EndLine int      `json:"endLine,omitempty"`
}

// Failure is why the build failed.
type Failure struct {
	// Step is the step that failed, nil when the build failed elsewhere
	// (a Dockerfile parse error, a push).
	Step *Step `json:"step,omitempty"`
	// Message is buildx's ERROR line, or the vertex error.
	Message string `json:"message"`
	// File and Line locate the failing instruction, from buildx's
	// "Dockerfile:12" excerpt (BuildKit puts no source location in the
	// vertex error itself).
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	EndLine int    `json:"endLine,omitempty"`
}

// Build is what one build did, read from its progress stream.
type Build struct {
	// Format is the stream's format: "rawjson" or "plain".
	Format string    `json:"format"`
	Start  time.Time `json:"start,omitzero"`
	// Wall is the time from the first vertex's start to the last event.
	Wall time.Duration `json:"wall"`
	// CacheImport, Export and Push are the time spent (overlaps counted
	// once) importing cache manifests, in the exporters, and pushing;
	// Export includes Push.
	CacheImport time.Duration `json:"cacheImport"`
	Export      time.Duration `json:"export"`
	Push        time.Duration `json:"push"`
	// Platforms is every platform that steps were built for, in order of
	// appearance; empty for a single-platform build without prefixes.
	Platforms []string `json:"platforms,omitempty"`
	Stages    []Stage  `json:"stages"`
	// Steps is platform by platform, stage by stage (in order of first
	// appearance), then by index.
	Steps []Step `json:"steps"`
	// Spans is the rest: base images, cache imports, exports and pushes.
	Spans    []Span         `json:"spans,omitempty"`
	Warnings []BuildWarning `json:"warnings,omitempty"`
	Failure  *Failure       `json:"failure,omitempty"`
	// Text is the last lines of the stream that were not progress
	// (buildx's own messages).
	Text []string `json:"text,omitempty"`
	// Skipped counts lines that looked like JSON but did not decode (a
	// garbled or truncated stream), and vertices beyond the limit.
	Skipped int `json:"skipped,omitempty"`
	// Unstarted counts vertices BuildKit announced but never started (not
	// needed, or not reached after a failure): not steps.
	Unstarted int `json:"unstarted,omitempty"`
}

// tracker accumulates vertices from either format into a Build.
type tracker struct {
	vertices map[string]*vertex // by digest (rawjson) or "#N" (plain)
	order    []*vertex
	logTail  int
	textTail int
	maxVerts int

	text     []string
	pushes   map[string]*interval // status spans named "pushing …"
	warnings []BuildWarning
	wseen    map[string]bool
	first    time.Time
	last     time.Time
	skipped  int
	shown    int // vertices numbered
	// plainPushed sums plain's "pushing … 1.2s done" lines (plain has no
	// spans).
	plainPushed time.Duration

	// failure details from buildx's own lines
	errLine  string
	srcFile  string
	srcLine  int
	srcEnd   int
	pending  [3]string // a "Dockerfile:12" line waiting for its "----"
	failName string    // " > [3/4] RUN …:"
}

type interval struct{ start, end time.Time }

// vertex is the merged state of one vertex.
type vertex struct {
	num       int
	digest    string
	name      string
	p         parsedName
	started   time.Time
	lastStart time.Time     // of the current run
	completed time.Time     // of the current run; zero while it runs
	busy      time.Duration // earlier runs
	inputs    []*vertex
	cached    bool
	err       string
	log       [][]byte // ring of the last logTail lines, next at logNext
	logNext   int
	partial   []byte
	pulls     int
	logLines  int
	duration  time.Duration // plain: from DONE
	done      bool          // plain: CACHED, DONE or ERROR seen
	canceled  bool
}

func newTracker(o *options) *tracker {
	return &tracker{
		vertices: map[string]*vertex{},
		pushes:   map[string]*interval{},
		wseen:    map[string]bool{},
		logTail:  o.logTail,
		textTail: o.textTail,
		maxVerts: o.maxVertices,
	}
}

// get returns the vertex for key, creating it; nil past the limit.
func (t *tracker) get(key string) (*vertex, bool) {
	if v, ok := t.vertices[key]; ok {
		return v, false
	}
	if len(t.order) >= t.maxVerts {
		t.skipped++
		return nil, false
	}
	v := &vertex{digest: key}
	t.vertices[key] = v
	t.order = append(t.order, v)
	return v, true
}

func (t *tracker) seen(ts time.Time) {
	if ts.IsZero() {
		return
	}
	if t.first.IsZero() || ts.Before(t.first) {
		t.first = ts
	}
	if ts.After(t.last) {
		t.last = ts
	}
}

// merge folds one vertex update in; BuildKit resends a vertex whenever it
// changes, with all its fields.
func (t *tracker) merge(u *Vertex) *vertex {
	v, _ := t.get(u.Digest)
	if v == nil {
		return nil
	}
	if u.Name != "" && u.Name != v.name {
		v.name, v.p = u.Name, parseName(u.Name)
	}
	if !u.Started.IsZero() {
		if v.started.IsZero() || u.Started.Before(v.started) {
			v.started = u.Started
		}
		// BuildKit restarts a vertex (a new start after its completion):
		// its time is the sum of its runs, as buildx counts it.
		if !u.Started.Equal(v.lastStart) {
			if v.completed.After(v.lastStart) && !v.lastStart.IsZero() {
				v.busy += v.completed.Sub(v.lastStart)
			}
			v.lastStart, v.completed = u.Started, time.Time{}
		}
		t.seen(u.Started)
		t.number(v)
	}
	if !u.Completed.IsZero() {
		if u.Completed.After(v.completed) {
			v.completed = u.Completed
		}
		t.seen(u.Completed)
	}
	if len(u.Inputs) > 0 && len(v.inputs) == 0 {
		for _, in := range u.Inputs[:min(len(u.Inputs), 16)] {
			if iv, _ := t.get(in); iv != nil {
				v.inputs = append(v.inputs, iv)
			}
		}
	}
	v.cached = v.cached || u.Cached
	if u.Error != "" {
		v.err = u.Error
	}
	return v
}

// finished reports whether v completed (and was not restarted after).
func (v *vertex) finished() bool {
	if v.done {
		return true
	}
	return !v.completed.IsZero() && !v.completed.Before(v.lastStart)
}

func (v *vertex) state() State {
	switch {
	case v.canceled || (v.err != "" && isCanceled(v.err)):
		return Canceled
	case v.err != "":
		return Failed
	case !v.finished():
		return Incomplete
	case v.cached:
		return Cached
	}
	return Ran
}

func isCanceled(err string) bool {
	return strings.HasSuffix(err, "context canceled") || err == "canceled" || strings.HasSuffix(err, ": canceled")
}

func (v *vertex) dur() time.Duration {
	if v.duration > 0 || v.lastStart.IsZero() {
		return v.duration
	}
	if v.completed.IsZero() {
		return v.busy
	}
	return v.busy + max(0, v.completed.Sub(v.lastStart))
}

// number gives v the next #N when it first starts, as buildx numbers
// vertices in the order it shows them (BuildKit announces the whole graph
// first, in no useful order).
func (t *tracker) number(v *vertex) {
	if v.num == 0 {
		t.shown++
		v.num = t.shown
	}
}

// maxLine bounds one kept log or text line.
const maxLine = 4096

// logData appends a chunk of output, calling line for each complete line.
func (t *tracker) logData(v *vertex, data []byte, line func([]byte)) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			room := maxLine - len(v.partial)
			v.partial = append(v.partial, data[:min(room, len(data))]...)
			if len(v.partial) >= maxLine {
				t.logLine(v, v.partial, line)
				v.partial = v.partial[:0]
			}
			return
		}
		chunk := data[:i]
		if len(v.partial) > 0 {
			v.partial = append(v.partial, chunk[:min(len(chunk), maxLine-len(v.partial))]...)
			t.logLine(v, v.partial, line)
			v.partial = v.partial[:0]
		} else {
			t.logLine(v, chunk[:min(len(chunk), maxLine)], line)
		}
		data = data[i+1:]
	}
}

// logLine keeps l in v's ring of last lines, reusing the ring's buffers:
// a chatty step costs no allocation per line.
func (t *tracker) logLine(v *vertex, l []byte, line func([]byte)) {
	l = bytes.TrimRight(l, "\r")
	v.logLines++
	if line != nil {
		line(l)
	}
	if t.logTail <= 0 {
		return
	}
	if len(v.log) < t.logTail {
		v.log = append(v.log, bytes.Clone(l))
		return
	}
	v.log[v.logNext] = append(v.log[v.logNext][:0], l...)
	v.logNext = (v.logNext + 1) % t.logTail
}

func (v *vertex) tail() []string {
	out := make([]string, 0, len(v.log)+1)
	for _, l := range v.log[v.logNext:] {
		out = append(out, string(l))
	}
	for _, l := range v.log[:v.logNext] {
		out = append(out, string(l))
	}
	if len(v.partial) > 0 {
		out = append(out, string(v.partial))
	}
	return out
}

// push records a "pushing …" status's span.
func (t *tracker) push(s *VertexStatus) {
	if !strings.HasPrefix(s.ID, "pushing") && !strings.HasPrefix(s.Name, "pushing") {
		return
	}
	key := s.Vertex + "\x00" + s.ID
	iv, ok := t.pushes[key]
	if !ok {
		if len(t.pushes) >= t.maxVerts {
			return
		}
		iv = &interval{}
		t.pushes[key] = iv
	}
	if !s.Started.IsZero() && (iv.start.IsZero() || s.Started.Before(iv.start)) {
		iv.start = s.Started
	}
	if s.Completed.After(iv.end) {
		iv.end = s.Completed
	}
}

func (t *tracker) warn(w BuildWarning) {
	key := w.Message + "\x00" + strconv.Itoa(w.Line)
	if t.wseen[key] || len(t.warnings) >= 1000 {
		return
	}
	t.wseen[key] = true
	t.warnings = append(t.warnings, w)
}

var (
	srcLocation = regexp.MustCompile(`^(\S+):(\d+)(?:-(\d+))?$`)
	errorLine   = regexp.MustCompile(`^ERROR: (.+)$`)
	failedStep  = regexp.MustCompile(`^ > (\[.*):$`)
)

// textLine keeps a line that is not progress and reads buildx's failure
// report from it:
//
//	 > [3/4] RUN make:
//	Dockerfile:12
//	--------------------
//	ERROR: failed to build: failed to solve: process "…" did not complete successfully: exit code: 2
func (t *tracker) textLine(l string) {
	if len(l) > maxLine {
		l = l[:maxLine]
	}
	if strings.TrimSpace(l) != "" && t.textTail > 0 {
		if len(t.text) >= t.textTail {
			copy(t.text, t.text[1:])
			t.text = t.text[:len(t.text)-1]
		}
		t.text = append(t.text, l)
	}
	if t.pending[0] != "" && strings.HasPrefix(l, "-----") {
		t.srcFile, t.srcLine, t.srcEnd = t.pending[0], atoi(t.pending[1]), atoi(t.pending[2])
	}
	t.pending = [3]string{}
	if m := srcLocation.FindStringSubmatch(l); m != nil {
		t.pending = [3]string{m[1], m[2], m[3]}
	}
	if m := errorLine.FindStringSubmatch(l); m != nil && t.errLine == "" {
		t.errLine = m[1]
	}
	if m := failedStep.FindStringSubmatch(l); m != nil {
		t.failName = m[1]
	}
}

// build assembles the model; the tracker can go on after.
func (t *tracker) build(format string) *Build {
	b := &Build{Format: format, Start: t.first, Skipped: t.skipped, Text: slices.Clone(t.text), Warnings: slices.Clone(t.warnings)}
	if !t.first.IsZero() {
		b.Wall = t.last.Sub(t.first)
	}
	platformRank, stageRank := map[string]int{}, map[string]int{}
	var imports, exports, pushes []interval
	for _, v := range t.order {
		// BuildKit announces the whole graph first; a vertex that never
		// started was not needed or not reached (after a failure). buildx
		// does not show it, and it is not a step of this build.
		if v.name == "" || v.num == 0 {
			if v.name != "" {
				b.Unstarted++
			}
			continue
		}
		switch v.p.kind {
		case KindStep:
			s := Step{
				Vertex: v.num, Name: v.name, Platform: v.p.platform, Stage: v.p.stage,
				Index: v.p.index, Total: v.p.total, Instruction: v.p.instruction, Text: v.p.text,
				State: v.state(), Start: v.started, Duration: v.dur(), Error: v.err, Log: v.tail(),
				PulledLayers: v.pulls > 0,
			}
			if !strings.HasPrefix(v.digest, "#") {
				s.Digest = v.digest
			}
			if len(s.Log) == 0 {
				s.Log = nil
			}
			if _, ok := stageRank[s.Stage]; !ok {
				stageRank[s.Stage] = len(stageRank)
			}
			b.Steps = append(b.Steps, s)
		case KindInternal:
		default:
			sp := Span{Kind: v.p.kind, Name: v.p.text, Platform: v.p.platform, Start: v.started, Duration: v.dur(), Cached: v.cached, Error: v.err}
			b.Spans = append(b.Spans, sp)
			iv := interval{v.started, v.started.Add(sp.Duration)}
			switch v.p.kind {
			case KindCacheImport:
				imports = append(imports, iv)
			case KindExport:
				exports = append(exports, iv)
			}
		}
	}
	for _, iv := range t.pushes {
		pushes = append(pushes, *iv)
	}
	if len(pushes) > 0 {
		slices.SortFunc(pushes, func(a, b interval) int { return a.start.Compare(b.start) })
		start, end := pushes[0].start, pushes[0].end
		for _, p := range pushes[1:] {
			start, end = minTime(start, p.start), maxTime(end, p.end)
		}
		b.Spans = append(b.Spans, Span{Kind: KindExport, Name: "pushing", Start: start, Duration: max(0, end.Sub(start))})
	}
	b.CacheImport, b.Export, b.Push = union(imports), union(exports), union(pushes)
	if format == "plain" {
		b.Push = t.plainPushed
	}
	t.inheritPlatforms(b.Steps)
	for _, s := range b.Steps {
		if _, ok := platformRank[s.Platform]; !ok {
			platformRank[s.Platform] = len(platformRank)
			if s.Platform != "" {
				b.Platforms = append(b.Platforms, s.Platform)
			}
		}
	}
	slices.SortStableFunc(b.Steps, func(x, y Step) int {
		return cmp.Or(
			cmp.Compare(platformRank[x.Platform], platformRank[y.Platform]),
			cmp.Compare(stageRank[x.Stage], stageRank[y.Stage]),
			cmp.Compare(x.Index, y.Index),
			cmp.Compare(x.Vertex, y.Vertex))
	})
	b.Stages = stages(b.Steps)
	b.Failure = t.failure(b)
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// union is the time covered by the intervals, overlaps once.
func union(ivs []interval) time.Duration {
	ivs = slices.DeleteFunc(slices.Clone(ivs), func(iv interval) bool { return iv.start.IsZero() || !iv.end.After(iv.start) })
	slices.SortFunc(ivs, func(a, b interval) int { return a.start.Compare(b.start) })
	var total time.Duration
	var cur interval
	for _, iv := range ivs {
		if cur.end.IsZero() || iv.start.After(cur.end) {
			total += cur.end.Sub(cur.start)
			cur = iv
			continue
		}
		cur.end = maxTime(cur.end, iv.end)
	}
	return total + cur.end.Sub(cur.start)
}

func stages(steps []Step) []Stage {
	var out []Stage
	for _, s := range steps {
		if len(out) == 0 || out[len(out)-1].Platform != s.Platform || out[len(out)-1].Name != s.Stage {
			out = append(out, Stage{Platform: s.Platform, Name: s.Stage})
		}
		st := &out[len(out)-1]
		st.Steps++
		switch s.State {
		case Cached:
			st.Cached++
		case Ran:
			st.Ran++
			st.Run += s.Duration
		case Failed:
			st.Failed++
			st.Run += s.Duration
		default:
			st.Other++
		}
	}
	return out
}

func (t *tracker) failure(b *Build) *Failure {
	var f *Failure
	for i := range b.Steps {
		s := &b.Steps[i]
		if s.State != Failed {
			continue
		}
		// The step buildx names in its report, else the first to fail.
		if f == nil || s.Name == t.failName {
			f = &Failure{Step: s, Message: s.Error}
		}
	}
	if f == nil && t.errLine == "" {
		return nil
	}
	if f == nil {
		f = &Failure{}
	}
	if t.errLine != "" {
		f.Message = t.errLine
	}
	f.File, f.Line, f.EndLine = t.srcFile, t.srcLine, t.srcEnd
	return f
}

// inheritPlatforms gives steps whose name has no platform (BuildKit names
// a RUN "[2/6] RUN …" on every platform) the platform of the nearest
// input that has one, e.g. the platform's FROM. When that makes two steps
// alike (their ancestor was shared by the platforms, as an identical COPY
// onto scratch is), the platform is not known and stays empty.
func (t *tracker) inheritPlatforms(steps []Step) {
	memo := map[*vertex]string{}
	var platform func(v *vertex, depth int) string
	platform = func(v *vertex, depth int) string {
		if v.p.platform != "" || depth > 64 {
			return v.p.platform
		}
		if p, ok := memo[v]; ok {
			return p
		}
		memo[v] = ""
		for _, in := range v.inputs {
			if p := platform(in, depth+1); p != "" {
				memo[v] = p
				break
			}
		}
		return memo[v]
	}
	inherited := map[int]bool{}
	for i := range steps {
		v := t.vertices[steps[i].Digest]
		if steps[i].Platform != "" || v == nil {
			continue
		}
		if p := platform(v, 0); p != "" {
			steps[i].Platform, inherited[i] = p, true
		}
	}
	key := func(s Step) string {
		return s.Platform + "\x00" + s.Stage + "\x00" + strconv.Itoa(s.Index) + "\x00" + s.Text
	}
	seen := map[string]int{}
	for i := range steps {
		seen[key(steps[i])]++
	}
	for i := range steps {
		if inherited[i] && seen[key(steps[i])] > 1 {
			steps[i].Platform = ""
		}
	}
}
