package progress

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// renderer draws a rawjson stream as it arrives, the way buildx's plain
// printer does, so a user who switched from plain loses nothing.
type renderer struct {
	w    io.Writer
	err  error
	nums map[*vertex]bool // true once its end is drawn
	last *vertex
	buf  []byte
	buf2 []byte
	// pending are vertices that ended in the last update.
	pending []*vertex
}

func (r *renderer) write(b []byte) {
	if r.err != nil {
		return
	}
	_, r.err = r.w.Write(b)
}

// raw copies a line that is not progress.
func (r *renderer) raw(l []byte) {
	r.flushEnds()
	r.buf = append(append(r.buf[:0], l...), '\n')
	r.write(r.buf)
	r.last = nil
}

// header starts v's block: a blank line and "#N name" whenever the output
// switches to another vertex, as buildx does.
func (r *renderer) header(v *vertex) {
	if r.last == v {
		return
	}
	if _, ok := r.nums[v]; !ok {
		r.nums[v] = false
	}
	r.last = v
	r.buf = append(r.buf[:0], '\n', '#')
	r.buf = strconv.AppendInt(r.buf, int64(v.num), 10)
	r.buf = append(r.buf, ' ')
	r.buf = append(r.buf, v.name...)
	r.buf = append(r.buf, '\n')
	r.write(r.buf)
}

func (r *renderer) line(v *vertex, format string, a ...any) {
	r.header(v)
	r.buf = append(r.buf[:0], '#')
	r.buf = strconv.AppendInt(r.buf, int64(v.num), 10)
	r.buf = append(r.buf, ' ')
	r.buf = fmt.Appendf(r.buf, format, a...)
	r.buf = append(r.buf, '\n')
	r.write(r.buf)
}

// start draws v's header when it starts.
func (r *renderer) start(v *vertex) {
	if v.name == "" || v.num == 0 {
		return
	}
	if _, ok := r.nums[v]; !ok {
		r.header(v)
	}
}

// end queues v's end to be drawn with the next update: BuildKit often
// restarts a vertex right after completing it (the build context, the
// exporter), and buildx then draws one DONE, after the second run.
func (r *renderer) end(v *vertex) {
	if v.finished() && !r.nums[v] && !slices.Contains(r.pending, v) {
		r.pending = append(r.pending, v)
	}
}

// flushEnds draws the queued ends of vertices that did not restart.
func (r *renderer) flushEnds() {
	for _, v := range r.pending {
		if v.finished() {
			r.drawEnd(v)
		}
	}
	r.pending = r.pending[:0]
}

// drawEnd draws how v ended, once.
func (r *renderer) drawEnd(v *vertex) {
	if v.name == "" || r.nums[v] {
		return
	}
	var tail string
	switch v.state() {
	case Cached:
		tail = "CACHED"
	case Failed:
		tail = "ERROR: " + v.err
	case Canceled:
		tail = "CANCELED"
	case Ran:
		tail = fmt.Sprintf("DONE %.1fs", v.dur().Seconds())
	default:
		return
	}
	if v.num == 0 {
		return
	}
	r.line(v, "%s", tail)
	r.nums[v] = true
}

func (r *renderer) log(v *vertex, ts time.Time, l []byte) {
	if v.name == "" || v.num == 0 {
		return
	}
	if !v.started.IsZero() && !ts.IsZero() {
		r.line(v, "%.3f %s", ts.Sub(v.started).Seconds(), l)
		return
	}
	r.line(v, "%s", l)
}

// status draws a finished sub-task as buildx does: its ID (the name is
// often empty), the bytes done, the time.
func (r *renderer) status(v *vertex, s *VertexStatus) {
	if v.name == "" || v.num == 0 {
		return
	}
	name := s.ID
	if name == "" {
		name = s.Name
	}
	r.buf2 = append(r.buf2[:0], name...)
	switch {
	case s.Total > 0:
		r.buf2 = fmt.Appendf(r.buf2, " %s / %s", bytesize(s.Current), bytesize(s.Total))
	case s.Current > 0:
		r.buf2 = fmt.Appendf(r.buf2, " %s", bytesize(s.Current))
	}
	if !s.Started.IsZero() {
		if d := s.Completed.Sub(s.Started).Seconds(); d >= 0.05 {
			r.buf2 = fmt.Appendf(r.buf2, " %.1fs", d)
		}
	}
	r.line(v, "%s done", r.buf2)
}

func (r *renderer) warning(v *vertex, w BuildWarning) {
	msg := w.Message
	if w.Line > 0 && w.File != "" {
		msg = fmt.Sprintf("%s (%s:%d)", msg, w.File, w.Line)
	}
	if v == nil || v.name == "" || v.num == 0 {
		r.raw([]byte("WARN: " + msg))
		return
	}
	r.line(v, "WARN: %s", msg)
}

// flush draws the end of what the stream left unfinished.
func (r *renderer) flush(t *tracker) {
	r.flushEnds()
	for _, v := range t.order {
		if len(v.partial) > 0 && v.name != "" && v.num != 0 {
			r.line(v, "%s", v.partial)
		}
	}
}

func bytesize(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fGB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fMB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.2fkB", float64(n)/1e3)
	}
	return fmt.Sprintf("%dB", n)
}
