package progress

import "time"

// Status is one SolveStatus object of the rawjson stream: what changed
// since the previous one. Its shape follows BuildKit's client.SolveStatus
// JSON; fields this package has no use for (a warning's LLB definition,
// a log's partial flag) are skipped when decoding.
type Status struct {
	Vertexes []Vertex       `json:"vertexes,omitempty"`
	Statuses []VertexStatus `json:"statuses,omitempty"`
	Logs     []Log          `json:"logs,omitempty"`
	Warnings []Warning      `json:"warnings,omitempty"`
}

// Vertex is one node of the build graph. BuildKit sends a vertex again
// each time it changes; Digest identifies it. A zero time is one the
// stream did not carry (BuildKit's pointers, without the allocations).
type Vertex struct {
	Digest        string        `json:"digest,omitempty"`
	Inputs        []string      `json:"inputs,omitempty"`
	Name          string        `json:"name,omitempty"`
	Started       time.Time     `json:"started,omitzero"`
	Completed     time.Time     `json:"completed,omitzero"`
	Cached        bool          `json:"cached,omitempty"`
	Error         string        `json:"error,omitempty"`
	ProgressGroup ProgressGroup `json:"progressGroup,omitzero"`
}

// ProgressGroup groups vertices that buildx shows as one (e.g. the
// per-platform copies of a COPY --link).
type ProgressGroup struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	Weak bool   `json:"weak,omitempty"`
}

// VertexStatus is a sub-task of a vertex: a layer download, "pushing
// layers", "writing image".
type VertexStatus struct {
	ID        string    `json:"id"`
	Vertex    string    `json:"vertex,omitempty"`
	Name      string    `json:"name,omitempty"`
	Total     int64     `json:"total,omitempty"`
	Current   int64     `json:"current"`
	Timestamp time.Time `json:"timestamp"`
	Started   time.Time `json:"started,omitzero"`
	Completed time.Time `json:"completed,omitzero"`
}

// Log is a chunk of a vertex's output (stream 1 stdout, 2 stderr); Data
// is raw bytes (base64 in JSON) and need not end at a line break.
type Log struct {
	Vertex    string    `json:"vertex,omitempty"`
	Stream    int       `json:"stream,omitempty"`
	Data      []byte    `json:"data"`
	Timestamp time.Time `json:"timestamp"`
}

// Warning is a build check or frontend warning.
type Warning struct {
	Vertex     string      `json:"vertex,omitempty"`
	Level      int         `json:"level,omitempty"`
	Short      []byte      `json:"short,omitempty"`
	Detail     [][]byte    `json:"detail,omitempty"`
	URL        string      `json:"url,omitempty"`
	SourceInfo *SourceInfo `json:"sourceInfo,omitempty"`
	Range      []Range     `json:"range,omitempty"`
}

// SourceInfo names the file a warning's ranges are in. BuildKit also sends
// the file's content (Data); the LLB definition is not kept.
type SourceInfo struct {
	Filename string `json:"filename,omitempty"`
	Data     []byte `json:"data,omitempty"`
	Language string `json:"language,omitempty"`
}

// Range is a span of lines (1-based) in a source file.
type Range struct {
	Start Position `json:"start"`
	End   Position `json:"end"`
}

// Position is a line and character in a source file.
type Position struct {
	Line      int `json:"line,omitempty"`
	Character int `json:"character,omitempty"`
}

// reset empties s for reuse, keeping its slices' storage.
func (s *Status) reset() {
	for i := range s.Vertexes {
		s.Vertexes[i] = Vertex{Inputs: s.Vertexes[i].Inputs[:0]}
	}
	for i := range s.Logs {
		s.Logs[i] = Log{Data: s.Logs[i].Data[:0]}
	}
	s.Vertexes, s.Statuses, s.Logs, s.Warnings = s.Vertexes[:0], s.Statuses[:0], s.Logs[:0], s.Warnings[:0]
}
