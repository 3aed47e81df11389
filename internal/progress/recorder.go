package progress

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// Format is the progress format buildx (or docker build) was asked for.
type Format int

const (
	// RawJSON is --progress rawjson: a SolveStatus JSON object per line
	// (buildx 0.15 and later) or pretty-printed over several lines (0.12
	// to 0.14), mixed with buildx's own text lines.
	RawJSON Format = iota
	// Plain is --progress plain: "#N …" lines.
	Plain
)

func (f Format) String() string {
	if f == Plain {
		return "plain"
	}
	return "rawjson"
}

// Option configures a Recorder.
type Option func(*options)

type options struct {
	render      io.Writer
	tee         io.Writer
	logTail     int
	textTail    int
	maxVertices int
	maxObject   int
	now         func() time.Time
}

// WithRender draws the build as it streams by to w, close to buildx's
// plain output ("#N name", log lines, "#N CACHED", "#N DONE 2.3s",
// "#N ERROR: …"), with buildx's own lines as they are. A plain stream is
// copied through unchanged.
func WithRender(w io.Writer) Option { return func(o *options) { o.render = w } }

// WithTee copies the raw stream, byte for byte, to w (e.g. a file to
// upload as an artifact).
func WithTee(w io.Writer) Option { return func(o *options) { o.tee = w } }

// WithLogTail keeps the last n log lines of each step (default 20).
func WithLogTail(n int) Option { return func(o *options) { o.logTail = max(0, n) } }

// WithTextTail keeps the last n lines that are not progress (default 50).
func WithTextTail(n int) Option { return func(o *options) { o.textTail = max(0, n) } }

// WithMaxVertices bounds the vertices tracked (default 65536); more are
// counted in Build.Skipped.
func WithMaxVertices(n int) Option { return func(o *options) { o.maxVertices = max(1, n) } }

// WithClock sets the clock that times a plain stream's steps as their
// lines arrive (plain lines carry no timestamps; default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// maxLineBytes bounds one line (or one pretty-printed object): a warning
// carries the whole Dockerfile and its LLB definition, so allow for big
// ones, but not without end.
const maxLineBytes = 16 << 20

// Recorder reads a progress stream written to it: give it to os/exec as
// the build's Stderr, or copy a reader into it. It reads one stream (give
// it stdout too only as the same writer, which os/exec then writes to
// from one goroutine). It is safe for concurrent use: Build can be called
// at any time, also while the build runs. Close flushes a last
// unterminated line.
type Recorder struct {
	mu      sync.Mutex
	format  Format
	o       options
	t       *tracker
	r       *renderer
	dec     *decoder
	st      Status
	line    []byte
	long    bool // the current line passed maxLineBytes and is dropped
	obj     []byte
	inObj   bool
	teeErr  error
	plain   *plainReader
	clockOK bool
}

// New returns a Recorder for a stream in format f.
func New(f Format, opts ...Option) *Recorder {
	o := options{logTail: 20, textTail: 50, maxVertices: 1 << 16, maxObject: maxLineBytes, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	r := &Recorder{format: f, o: o, t: newTracker(&o), dec: newDecoder()}
	if o.render != nil {
		r.r = &renderer{w: o.render, nums: map[*vertex]bool{}}
	}
	if f == Plain {
		r.plain = &plainReader{t: r.t, now: o.now}
	}
	return r
}

// Read reads a whole stream from rd into a Build.
func Read(rd io.Reader, f Format, opts ...Option) (*Build, error) {
	r := New(f, opts...)
	if _, err := io.Copy(r, rd); err != nil {
		return nil, err
	}
	if err := r.Close(); err != nil {
		return nil, err
	}
	return r.Build(), nil
}

// Write reads p. It never fails: a garbled stream is counted, not an
// error, and a failing tee is reported by Close, not here, because a
// writer that fails makes os/exec stop draining the child's stderr, and
// the child would hang on a full pipe.
func (r *Recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.o.tee != nil && r.teeErr == nil {
		if _, err := r.o.tee.Write(p); err != nil {
			r.teeErr = err
		}
	}
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			r.appendLine(p)
			break
		}
		if len(r.line) == 0 && !r.long {
			r.handle(p[:i]) // the whole line is in p: no copy
		} else {
			r.appendLine(p[:i])
			r.handle(r.line)
		}
		r.line, r.long = r.line[:0], false
		p = p[i+1:]
	}
	return n, nil
}

func (r *Recorder) appendLine(p []byte) {
	if r.long || len(r.line)+len(p) > r.o.maxObject {
		r.long, r.line = true, r.line[:0]
		return
	}
	r.line = append(r.line, p...)
}

// Close ends the stream: a last line without a newline is read, an
// unfinished object counted as skipped. It returns the tee's first error.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.line) > 0 {
		r.handle(r.line)
		r.line = r.line[:0]
	}
	if r.long {
		r.t.skipped++
		r.long = false
	}
	if r.inObj {
		r.t.skipped++
		r.inObj, r.obj = false, r.obj[:0]
	}
	if r.r != nil {
		r.r.flush(r.t)
	}
	return r.teeErr
}

// Build returns the model of what the stream said so far.
func (r *Recorder) Build() *Build {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.t.build(r.format.String())
}

// RenderErr is the first error writing the live rendering, if any: the
// rendering stops at it, the reading goes on.
func (r *Recorder) RenderErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.r == nil {
		return nil
	}
	return r.r.err
}

// handle reads one line (without its newline; it may alias the caller's
// buffer, so nothing keeps it).
func (r *Recorder) handle(l []byte) {
	if r.long {
		r.t.skipped++
		return
	}
	l = bytes.TrimSuffix(l, []byte{'\r'})
	if r.plain != nil {
		r.plain.line(string(l))
		if r.r != nil {
			r.r.raw(l)
		}
		return
	}
	// buildx before 0.15 pretty-printed each object: "{" alone on a line,
	// its fields indented, "}" alone.
	if r.inObj {
		if len(r.obj)+len(l) > r.o.maxObject {
			r.t.skipped++
			r.inObj, r.obj = false, r.obj[:0]
			return
		}
		r.obj = append(r.obj, l...)
		r.obj = append(r.obj, '\n')
		if len(l) > 0 && l[0] == '}' {
			r.inObj = false
			r.object(r.obj)
			r.obj = r.obj[:0]
		}
		return
	}
	trimmed := bytes.TrimSpace(l)
	switch {
	case len(trimmed) == 1 && trimmed[0] == '{' && len(l) == 1:
		r.inObj = true
		r.obj = append(r.obj[:0], "{\n"...)
	case len(trimmed) > 0 && trimmed[0] == '{':
		r.object(trimmed)
	default:
		r.t.textLine(string(l))
		if r.r != nil {
			r.r.raw(l)
		}
	}
}

// object decodes one SolveStatus; one that does not decode is kept as
// text (buildx's own lines can start with "{") and counted.
func (r *Recorder) object(b []byte) {
	if err := r.dec.decode(b, &r.st); err != nil {
		r.t.skipped++
		r.t.textLine(string(b[:min(len(b), maxLine)]))
		return
	}
	r.t.status(&r.st, r.r)
}

// status folds one SolveStatus into the model and draws it.
func (t *tracker) status(st *Status, rd *renderer) {
	for i := range st.Vertexes {
		t.merge(&st.Vertexes[i])
	}
	if rd != nil {
		rd.flushEnds()
		for i := range st.Vertexes {
			if v := t.vertices[st.Vertexes[i].Digest]; v != nil {
				rd.start(v)
			}
		}
	}
	// A vertex's end is drawn after the statuses and logs of the same
	// update, which happened before it.
	if rd != nil {
		defer func() {
			for i := range st.Vertexes {
				if v := t.vertices[st.Vertexes[i].Digest]; v != nil {
					rd.end(v)
				}
			}
		}()
	}
	for i := range st.Statuses {
		s := &st.Statuses[i]
		t.seen(s.Timestamp)
		t.seen(s.Completed)
		v := t.vertices[s.Vertex]
		if v != nil && v.p.kind == KindStep && isLayerDigest(s.ID) {
			v.pulls++
		}
		t.push(s)
		if rd != nil && v != nil && !s.Completed.IsZero() {
			rd.status(v, s)
		}
	}
	for i := range st.Logs {
		l := &st.Logs[i]
		t.seen(l.Timestamp)
		v := t.vertices[l.Vertex]
		if v == nil {
			continue
		}
		var draw func([]byte)
		if rd != nil {
			draw = func(line []byte) { rd.log(v, l.Timestamp, line) }
		}
		t.logData(v, l.Data, draw)
	}
	for i := range st.Warnings {
		w := &st.Warnings[i]
		bw := BuildWarning{Level: w.Level, Message: string(w.Short), URL: w.URL}
		for _, d := range w.Detail {
			bw.Detail = append(bw.Detail, string(d))
		}
		if w.SourceInfo != nil {
			bw.File = w.SourceInfo.Filename
		}
		if len(w.Range) > 0 {
			bw.Line, bw.EndLine = w.Range[0].Start.Line, w.Range[0].End.Line
		}
		t.warn(bw)
		if rd != nil {
			rd.warning(t.vertices[w.Vertex], bw)
		}
	}
}

// isLayerDigest reports whether a status names a layer download
// ("sha256:…", "extracting sha256:…").
func isLayerDigest(s string) bool {
	s = trimPrefix(s, "extracting ")
	return len(s) > 7 && s[:7] == "sha256:"
}

func trimPrefix(s, p string) string {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
