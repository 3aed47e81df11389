// Package buildlog reads buildx's plain progress output as it streams by:
// which Dockerfile steps ran, which were CACHED, and the last lines for an
// error report.
package buildlog

import (
	"bytes"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Step is one Dockerfile instruction of the build.
type Step struct {
	// Name is the vertex name, e.g. "[2/4] RUN make" or "[build 3/5] COPY . .".
	Name   string `json:"name"`
	Cached bool   `json:"cached"`
	Done   bool   `json:"done"`
	Error  bool   `json:"error"`

	stage string
	index int
}

// Import is one cache source the build tried to import.
type Import struct {
	Ref string `json:"ref"`
	// Error is BuildKit's message when the import failed ("not found" on a
	// first build is expected).
	Error string `json:"error,omitempty"`
	Done  bool   `json:"done"`
}

// Recorder reads the child's output. Give each stream its own Writer: they
// are safe for the concurrent copies os/exec makes, and a line split across
// writes is not mixed with the other stream's.
type Recorder struct {
	mu      sync.Mutex
	streams []*stream
	order   []string
	steps   map[string]*Step
	imports map[string]*Import
	iorder  []string
	tail    []string
	keep    int
}

// NewRecorder keeps the last keep lines.
func NewRecorder(keep int) *Recorder {
	return &Recorder{steps: map[string]*Step{}, imports: map[string]*Import{}, keep: keep}
}

var (
	vertexLine = regexp.MustCompile(`^#(\d+) (\[(?:(\S+) )?(\d+)/\d+\] .*)$`)
	importLine = regexp.MustCompile(`^#(\d+) importing cache manifest from (\S+)$`)
	statusLine = regexp.MustCompile(`^#(\d+) (CACHED|DONE [0-9.]+s|ERROR:? ?(.*))$`)
)

// Writer returns a writer for one output stream.
func (r *Recorder) Writer() io.Writer {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &stream{r: r}
	r.streams = append(r.streams, s)
	return s
}

type stream struct {
	r       *Recorder
	partial []byte
}

func (s *stream) Write(p []byte) (int, error) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.r.line(strings.TrimRight(string(s.partial[:i]), "\r"))
		s.partial = s.partial[i+1:]
	}
	return len(p), nil
}

func (r *Recorder) line(l string) {
	if strings.TrimSpace(l) != "" {
		r.tail = append(r.tail, l)
		if len(r.tail) > r.keep {
			r.tail = r.tail[len(r.tail)-r.keep:]
		}
	}
	if m := vertexLine.FindStringSubmatch(l); m != nil {
		if _, ok := r.steps[m[1]]; !ok {
			idx, _ := strconv.Atoi(m[4])
			r.steps[m[1]] = &Step{Name: m[2], stage: m[3], index: idx}
			r.order = append(r.order, m[1])
		}
		return
	}
	if m := importLine.FindStringSubmatch(l); m != nil {
		if _, ok := r.imports[m[1]]; !ok {
			r.imports[m[1]] = &Import{Ref: m[2]}
			r.iorder = append(r.iorder, m[1])
		}
		return
	}
	m := statusLine.FindStringSubmatch(l)
	if m == nil {
		return
	}
	if imp, ok := r.imports[m[1]]; ok {
		switch {
		case strings.HasPrefix(m[2], "DONE"):
			imp.Done = true
		case strings.HasPrefix(m[2], "ERROR"):
			imp.Error = m[3]
		}
		return
	}
	s, ok := r.steps[m[1]]
	if !ok {
		return
	}
	switch {
	case m[2] == "CACHED":
		s.Cached = true
	case strings.HasPrefix(m[2], "DONE"):
		s.Done = true
	default:
		s.Error = true
	}
}

// Steps returns the Dockerfile steps, stage by stage in the order stages
// first appeared, each stage's steps by their number: BuildKit prints them
// in the order they finish, which on a cached build is any order.
func (r *Recorder) Steps() []Step {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Step, 0, len(r.order))
	stageRank := map[string]int{}
	for _, id := range r.order {
		s := *r.steps[id]
		if _, ok := stageRank[s.stage]; !ok {
			stageRank[s.stage] = len(stageRank)
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := stageRank[out[i].stage], stageRank[out[j].stage]; a != b {
			return a < b
		}
		return out[i].index < out[j].index
	})
	return out
}

// Imports returns the cache sources in the order the build tried them.
func (r *Recorder) Imports() []Import {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Import, 0, len(r.iorder))
	for _, id := range r.iorder {
		out = append(out, *r.imports[id])
	}
	return out
}

// Tail returns the last lines written, including an unterminated one.
func (r *Recorder) Tail() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]string(nil), r.tail...)
	for _, s := range r.streams {
		if p := strings.TrimSpace(string(s.partial)); p != "" {
			out = append(out, p)
		}
	}
	if len(out) > r.keep {
		out = out[len(out)-r.keep:]
	}
	return out
}
