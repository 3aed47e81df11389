package progress

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// Locate finds the lines of a failed step in its Dockerfile, for a
// builder that reports no source location (BuildKit v0.8 in dockerd
// 20.10 prints no "Dockerfile:12" excerpt): the instruction whose text is
// the step's, whitespace aside, in the step's stage. It sets f.Line and
// f.EndLine and reports whether it found exactly one; a Failure that has
// a line already is left alone. It is a fallback: a step BuildKit shows
// with build arguments expanded matches no line and stays unlocated.
func (f *Failure) Locate(name string, dockerfile []byte) bool {
	if f == nil || f.Line > 0 || f.Step == nil || f.Step.Text == "" {
		return f != nil && f.Line > 0
	}
	want := squash(f.Step.Text)
	stage, stageIndex := "", -1
	found, line, end := 0, 0, 0
	sc := bufio.NewScanner(bytes.NewReader(dockerfile))
	sc.Buffer(nil, maxLineBytes)
	n, start := 0, 0
	var ins strings.Builder
	for sc.Scan() {
		n++
		l := sc.Text()
		t := strings.TrimSpace(l)
		if ins.Len() == 0 {
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			start = n
		} else if strings.HasPrefix(t, "#") {
			continue // a comment inside a continued instruction
		}
		cont := strings.HasSuffix(t, "\\")
		ins.WriteString(strings.TrimSuffix(t, "\\"))
		ins.WriteByte(' ')
		if cont {
			continue
		}
		text := squash(ins.String())
		ins.Reset()
		if kw, rest, _ := strings.Cut(text, " "); strings.EqualFold(kw, "FROM") {
			stageIndex++
			stage = ""
			if f := strings.Fields(rest); len(f) >= 3 && strings.EqualFold(f[len(f)-2], "AS") {
				stage = f[len(f)-1]
			}
			continue
		}
		if text == want && f.inStage(stage, stageIndex) {
			found, line, end = found+1, start, n
		}
	}
	if found != 1 {
		return false
	}
	f.File, f.Line, f.EndLine = name, line, end
	if end == line {
		f.EndLine = 0
	}
	return true
}

// inStage reports whether a Dockerfile stage (its name, its index from 0)
// is the failed step's.
func (f *Failure) inStage(name string, index int) bool {
	s := f.Step.Stage
	return s == "" || strings.EqualFold(s, StageName(name, index, false))
}

// StageName is what BuildKit's progress calls a Dockerfile stage (its
// name, its index from 0): dockerfile2llb names a stage by its name, or
// "stage-N" when it has none, and leaves the name out of a build with a
// single stage.
func StageName(name string, index int, single bool) string {
	switch {
	case single:
		return ""
	case name != "":
		return name
	}
	return "stage-" + strconv.Itoa(index)
}

// squash collapses runs of white space, as step names show instructions.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }
