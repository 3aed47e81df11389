package progress

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// sample is a small build as BuildKit streams it: a FROM, a cached COPY, a
// RUN that logs over two chunks and runs, an export that pushes.
func sample() []Status {
	from, copyStep, run, exp := "sha256:aa", "sha256:bb", "sha256:cc", "sha256:dd"
	return []Status{
		{Vertexes: []Vertex{{Digest: "sha256:00", Name: "[internal] load build definition from Dockerfile", Started: at(0), Completed: at(10)}}},
		{Vertexes: []Vertex{{Digest: from, Name: "[1/3] FROM docker.io/library/debian:bookworm", Started: at(20), Completed: at(30), Cached: true}}},
		{Vertexes: []Vertex{{Digest: copyStep, Inputs: []string{from}, Name: "[2/3] COPY . /src", Started: at(30), Completed: at(30), Cached: true}}},
		{Vertexes: []Vertex{{Digest: run, Inputs: []string{copyStep}, Name: "[3/3] RUN make", Started: at(40)}}},
		{Logs: []Log{{Vertex: run, Stream: 1, Data: []byte("building\nhal"), Timestamp: at(50)}}},
		{Logs: []Log{{Vertex: run, Stream: 2, Data: []byte("f done\n"), Timestamp: at(60)}}},
		{Vertexes: []Vertex{{Digest: run, Inputs: []string{copyStep}, Name: "[3/3] RUN make", Started: at(40), Completed: at(2340)}}},
		{Vertexes: []Vertex{{Digest: exp, Name: "exporting to image", Started: at(2400)}},
			Statuses: []VertexStatus{{ID: "pushing layers", Vertex: exp, Name: "pushing layers", Timestamp: at(2500), Started: at(2500), Completed: at(3000)}}},
		{Vertexes: []Vertex{{Digest: exp, Name: "exporting to image", Started: at(2400), Completed: at(3100)}}},
	}
}

func encode(t testing.TB, sts []Status, indent bool) []byte {
	var buf bytes.Buffer
	for _, st := range sts {
		var b []byte
		var err error
		if indent {
			b, err = json.MarshalIndent(st, "", "  ")
		} else {
			b, err = json.Marshal(st)
		}
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func TestReadSample(t *testing.T) {
	t.Parallel()
	for _, indent := range []bool{false, true} {
		stream := append([]byte("#0 building with \"default\" instance using docker driver\n"), encode(t, sample(), indent)...)
		b, err := Read(bytes.NewReader(stream), RawJSON)
		if err != nil {
			t.Fatal(err)
		}
		if b.Skipped != 0 {
			t.Errorf("indent=%v: %d skipped", indent, b.Skipped)
		}
		got := []string{}
		for _, s := range b.Steps {
			got = append(got, s.Text+" "+string(s.State)+" "+s.Duration.String())
		}
		want := []string{"COPY . /src cached 0s", "RUN make ran 2.3s"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("indent=%v: steps %q, want %q", indent, got, want)
		}
		if b.CachedSteps() != 1 || b.TotalSteps() != 2 || b.CacheHit() != 50 || b.UncachedSeconds() != 2.3 {
			t.Errorf("counts %d/%d hit %d uncached %v", b.CachedSteps(), b.TotalSteps(), b.CacheHit(), b.UncachedSeconds())
		}
		if b.Wall != 3100*time.Millisecond || b.Export != 700*time.Millisecond || b.Push != 500*time.Millisecond {
			t.Errorf("wall %s export %s push %s", b.Wall, b.Export, b.Push)
		}
		if log := b.Steps[1].Log; !reflect.DeepEqual(log, []string{"building", "half done"}) {
			t.Errorf("log %q", log)
		}
		if len(b.Text) != 1 || !strings.HasPrefix(b.Text[0], "#0 building") {
			t.Errorf("text %q", b.Text)
		}
	}
}

// TestDecoderMatchesEncodingJSON: what encoding/json writes, the decoder
// reads back the same (escapes, nulls, unknown fields included).
func TestDecoderMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	sts := sample()
	sts = append(sts, Status{Warnings: []Warning{{
		Vertex: "sha256:00", Level: 1, Short: []byte("FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 4)"),
		Detail: [][]byte{[]byte("detail \"quoted\" \u00e9 \U0001F600 \t")}, URL: "https://docs.docker.com/go/dockerfile/rule/from-as-casing/",
		SourceInfo: &SourceInfo{Filename: "Dockerfile", Data: []byte("FROM scratch as base\n"), Language: "Dockerfile"},
		Range:      []Range{{Start: Position{Line: 4}, End: Position{Line: 4}}},
	}}})
	d := newDecoder()
	for _, st := range sts {
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		var got Status
		if err := d.decode(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		var want Status
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		normalize(&got)
		normalize(&want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("decoded %s\n got  %+v\n want %+v", b, got, want)
		}
	}
	// Fields the decoder does not know, and nulls, are skipped.
	var st Status
	if err := d.decode([]byte(`{"vertexes":[{"digest":"sha256:x","name":"a\u0041\n","future":{"x":[1,2.5e3,true,null,"s"]},"inputs":null,"started":null}],"logs":null}`), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Vertexes) != 1 || st.Vertexes[0].Name != "aA\n" || !st.Vertexes[0].Started.IsZero() {
		t.Errorf("got %+v", st)
	}
}

// normalize makes empty and nil slices equal.
func normalize(st *Status) {
	for i := range st.Vertexes {
		if len(st.Vertexes[i].Inputs) == 0 {
			st.Vertexes[i].Inputs = nil
		}
	}
	for i := range st.Logs {
		if len(st.Logs[i].Data) == 0 {
			st.Logs[i].Data = nil
		}
	}
	if len(st.Vertexes) == 0 {
		st.Vertexes = nil
	}
	if len(st.Statuses) == 0 {
		st.Statuses = nil
	}
	if len(st.Logs) == 0 {
		st.Logs = nil
	}
	if len(st.Warnings) == 0 {
		st.Warnings = nil
	}
}

// TestBadStreams: truncated, garbled and unfinished streams are no error,
// and the counts add up.
func TestBadStreams(t *testing.T) {
	t.Parallel()
	full := encode(t, sample(), false)
	cases := map[string][]byte{
		"truncated mid-object":   full[:len(full)*2/3],
		"garbled":                bytes.ReplaceAll(full, []byte(`"name"`), []byte(`"name":{`)),
		"never completes":        encode(t, sample()[:5], false),
		"pretty, cut mid-object": encode(t, sample(), true)[:400],
		"binary":                 []byte("\x00\xff{\"vertexes\":[{\"digest\":\"\xff\"}]}\n{{{{\n[]\n"),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := Read(bytes.NewReader(in), RawJSON)
			if err != nil {
				t.Fatal(err)
			}
			checkConsistent(t, b)
		})
	}
	b, _ := Read(bytes.NewReader(cases["never completes"]), RawJSON)
	if st := b.Steps[1].State; st != Incomplete || b.Complete() {
		t.Errorf("a RUN that never completed: %s, complete %v", st, b.Complete())
	}
}

// checkConsistent checks that the model's numbers agree with each other.
func checkConsistent(t *testing.T, b *Build) {
	t.Helper()
	n := 0
	for _, s := range b.Stages {
		if s.Cached+s.Ran+s.Failed+s.Other != s.Steps {
			t.Errorf("stage %+v does not add up", s)
		}
		n += s.Steps
	}
	if n != b.TotalSteps() {
		t.Errorf("stages have %d steps, the build %d", n, b.TotalSteps())
	}
	if h := b.CacheHit(); h < 0 || h > 100 || (h == 100) != (b.TotalSteps() > 0 && b.CachedSteps() == b.TotalSteps()) {
		t.Errorf("cache hit %d with %d/%d", h, b.CachedSteps(), b.TotalSteps())
	}
	for _, s := range b.Steps {
		if s.Duration < 0 {
			t.Errorf("step %s: negative duration", s.Name)
		}
	}
	if _, err := json.Marshal(b.Report()); err != nil {
		t.Error(err)
	}
	_ = b.Gantt()
}

func TestParseName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]parsedName{
		"[2/4] RUN make":                                                             {kind: KindStep, index: 2, total: 4, instruction: "RUN", text: "RUN make"},
		"[builder  3/12] COPY --from=x a b":                                          {kind: KindStep, stage: "builder", index: 3, total: 12, instruction: "COPY", text: "COPY --from=x a b"},
		"[linux/386 stage-1 2/3] WORKDIR /app":                                       {kind: KindStep, platform: "linux/386", stage: "stage-1", index: 2, total: 3, instruction: "WORKDIR", text: "WORKDIR /app"},
		"[linux/arm/v7 1/3] FROM docker.io/x":                                        {kind: KindBase, platform: "linux/arm/v7", index: 1, total: 3, instruction: "FROM", text: "FROM docker.io/x"},
		"[internal] load build definition":                                           {kind: KindInternal, text: "load build definition"},
		"[linux/amd64 internal] load metadata for docker.io/library/debian:bookworm": {kind: KindBase, platform: "linux/amd64", text: "load metadata for docker.io/library/debian:bookworm"},
		"[auth] library/debian:pull token for registry-1.docker.io":                  {kind: KindInternal, text: "library/debian:pull token for registry-1.docker.io"},
		"importing cache manifest from r/x:cache":                                    {kind: KindCacheImport, text: "importing cache manifest from r/x:cache"},
		"exporting to image":                                                         {kind: KindExport, text: "exporting to image"},
		"resolve image config for docker.io/docker/dockerfile:1":                     {kind: KindBase, text: "resolve image config for docker.io/docker/dockerfile:1"},
		"something else":                                                             {kind: KindOther, text: "something else"},
	} {
		if got := parseName(name); got != want {
			t.Errorf("%q: %+v, want %+v", name, got, want)
		}
	}
}
