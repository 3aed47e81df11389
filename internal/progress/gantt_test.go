package progress

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ganttTask is a task line as Build.Gantt writes it and Mermaid's gantt
// grammar reads it: "name :[tags, ]start, end", times in dateFormat x
// (milliseconds). Mermaid's lexer ends a task name at ":" and its data at
// "#" or ";".
var ganttTask = regexp.MustCompile(`^    ([^:#;\n]+) :((?:(?:done|active|crit|milestone), )*)(\d+), (\d+)$`)

// ganttKeyword is what Mermaid's gantt lexer takes for a directive at the
// start of a line: a task name must not begin with one.
var ganttKeyword = regexp.MustCompile(`^(title|section|dateFormat|axisFormat|tickInterval|includes|excludes|todayMarker|weekday|weekend|inclusiveEndDates|topAxis|click|accTitle|accDescr)\b`)

// checkGantt validates a chart line by line against Mermaid's gantt
// syntax: the header, sections with a name, and tasks whose end follows
// their start.
func checkGantt(t *testing.T, chart string) (sections, tasks int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(chart, "\n"), "\n")
	if len(lines) < 4 || lines[0] != "gantt" || !strings.HasPrefix(lines[1], "    title ") || lines[2] != "    dateFormat x" || lines[3] != "    axisFormat %M:%S" {
		t.Fatalf("gantt header:\n%s", chart)
	}
	inSection := false
	for i, l := range lines[4:] {
		if name, ok := strings.CutPrefix(l, "    section "); ok {
			if strings.TrimSpace(name) == "" || strings.ContainsAny(name, "#:;") {
				t.Errorf("line %d: bad section %q", i+5, l)
			}
			sections++
			inSection = true
			continue
		}
		m := ganttTask.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line %d is not a gantt task: %q", i+5, l)
			continue
		}
		if !inSection {
			t.Errorf("line %d: task before any section", i+5)
		}
		if name := strings.TrimSpace(m[1]); name == "" || name != m[1] || ganttKeyword.MatchString(name) {
			t.Errorf("line %d: task name %q", i+5, m[1])
		}
		start, _ := strconv.ParseInt(m[3], 10, 64)
		end, _ := strconv.ParseInt(m[4], 10, 64)
		if end <= start {
			t.Errorf("line %d: ends at %d, not after its start %d", i+5, end, start)
		}
		tasks++
	}
	return sections, tasks
}

// TestGanttIsMermaid validates the chart of every captured stream, and of
// names that would break Mermaid's syntax.
func TestGanttIsMermaid(t *testing.T) {
	t.Parallel()
	for _, path := range streams(t) {
		b := read(t, path)
		sections, tasks := checkGantt(t, b.Gantt())
		if len(b.Steps) > 0 && (sections == 0 || tasks < len(b.Steps)) {
			t.Errorf("%s: %d sections, %d tasks for %d steps", path, sections, tasks, len(b.Steps))
		}
	}
	now := time.Now()
	b := &Build{Format: "rawjson", Start: now, Steps: []Step{
		{Stage: "a:b#c;d", Index: 2, Total: 2, Text: "RUN echo 'a: b' # c; d\nsection x", State: Ran, Start: now, Duration: 0},
		{Index: 1, Total: 1, Text: strings.Repeat("x", 200), State: Failed, Start: now.Add(-time.Second), Duration: time.Second},
	}}
	if _, tasks := checkGantt(t, b.Gantt()); tasks != 2 {
		t.Errorf("%d tasks for 2 steps:\n%s", tasks, b.Gantt())
	}
}
