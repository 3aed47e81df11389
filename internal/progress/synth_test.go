package progress

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// synthStream is an endless-enough reader of rawjson lines, made up the
// way BuildKit sends them (a vertex started, its logs and statuses, the
// vertex completed), over a fixed set of vertices that it sends again and
// again: events for a benchmark without holding them all in memory.
type synthStream struct {
	block  []byte
	events int // events per block
	left   int // events still to send
	off    int
}

// newSynth returns a stream of n events (rounded up to whole blocks).
func newSynth(n int) *synthStream {
	base := time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC)
	var block []byte
	events := 0
	line := func(st Status) {
		b, err := json.Marshal(st)
		if err != nil {
			panic(err)
		}
		block = append(append(block, b...), '\n')
		events += len(st.Vertexes) + len(st.Statuses) + len(st.Logs) + len(st.Warnings)
	}
	for i := range 50 {
		dg := fmt.Sprintf("sha256:%064x", i+1)
		name := fmt.Sprintf("[stage-%d %2d/12] RUN make -j4 target-%d", i%3, i%12+2, i)
		start := base.Add(time.Duration(i) * time.Second)
		line(Status{Vertexes: []Vertex{{Digest: dg, Name: name, Started: start}}})
		for j := range 16 {
			line(Status{Logs: []Log{{Vertex: dg, Stream: 1 + j%2, Data: fmt.Appendf(nil, "compiling file %d of target %d ...\n", j, i), Timestamp: start.Add(time.Duration(j) * time.Millisecond)}}})
		}
		for j := range 2 {
			line(Status{Statuses: []VertexStatus{{ID: fmt.Sprintf("sha256:%064x", 1000+j), Vertex: dg, Name: "extracting", Current: 1 << 20, Total: 1 << 20, Timestamp: start, Started: start, Completed: start.Add(time.Millisecond)}}})
		}
		line(Status{Vertexes: []Vertex{{Digest: dg, Name: name, Started: start, Completed: start.Add(900 * time.Millisecond), Cached: i%4 == 0}}})
	}
	return &synthStream{block: block, events: events, left: n}
}

func (s *synthStream) Read(p []byte) (int, error) {
	if s.off == 0 {
		if s.left <= 0 {
			return 0, io.EOF
		}
		s.left -= s.events
	}
	n := copy(p, s.block[s.off:])
	s.off = (s.off + n) % len(s.block)
	return n, nil
}
