package buildlog

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

// A cached rebuild's log as buildx v0.38.2 printed it against BuildKit
// v0.34.2 (captured from the e2e environment), steps out of order.
const cachedLog = `#0 building with "inline-cache-test" instance using remote driver

#3 importing cache manifest from 127.0.0.1:42821/demo/app:latest
#3 inferred cache manifest type: application/vnd.oci.image.index.v1+json done
#3 DONE 0.0s

#4 [internal] load build context
#4 transferring context: 1.98MB 0.0s done
#4 DONE 0.1s

#5 [4/6] RUN echo "second" > /two.txt
#5 CACHED

#6 [5/6] COPY hello.txt /hello.txt
#6 CACHED

#7 [1/6] COPY busybox /bin/busybox
#7 CACHED

#8 [2/6] RUN ["/bin/busybox", "--install", "-s", "/bin"]
#8 CACHED

#9 [3/6] RUN echo "first step" > /one.txt && sleep 1
#9 CACHED

#10 [6/6] RUN cat /hello.txt /two.txt > /all.txt
#10 CACHED

#11 exporting to image
#11 DONE 0.1s
`

func TestCachedRebuild(t *testing.T) {
	r := NewRecorder(5)
	w := r.Writer()
	// Byte by byte: lines split across writes must still parse.
	for i := range len(cachedLog) {
		if _, err := w.Write([]byte{cachedLog[i]}); err != nil {
			t.Fatal(err)
		}
	}
	steps := r.Steps()
	if len(steps) != 6 {
		t.Fatalf("steps = %+v", steps)
	}
	for i, s := range steps {
		if !s.Cached || !strings.HasPrefix(s.Name, fmt.Sprintf("[%d/6] ", i+1)) {
			t.Errorf("step %d = %+v", i, s)
		}
	}
	imps := r.Imports()
	if len(imps) != 1 || imps[0].Ref != "127.0.0.1:42821/demo/app:latest" || !imps[0].Done || imps[0].Error != "" {
		t.Errorf("imports = %+v", imps)
	}
	if tail := r.Tail(); len(tail) != 5 || tail[4] != "#11 DONE 0.1s" {
		t.Errorf("tail = %q", tail)
	}
}

func TestFirstBuildAndMultiStage(t *testing.T) {
	r := NewRecorder(50)
	io.WriteString(r.Writer(), `#3 importing cache manifest from r.example/app:main
#3 ERROR: failed to configure registry cache importer: r.example/app:main: not found
#5 [build 2/3] RUN make
#6 [stage-1 1/2] COPY --from=build /out /out
#5 DONE 1.0s
#7 [build 1/3] FROM docker.io/library/golang
#7 CACHED
#6 DONE 0.1s
#8 [stage-1 2/2] RUN false
#8 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1
`)
	var names []string
	for _, s := range r.Steps() {
		names = append(names, fmt.Sprintf("%s cached=%v done=%v error=%v", s.Name, s.Cached, s.Done, s.Error))
	}
	want := []string{
		"[build 1/3] FROM docker.io/library/golang cached=true done=false error=false",
		"[build 2/3] RUN make cached=false done=true error=false",
		"[stage-1 1/2] COPY --from=build /out /out cached=false done=true error=false",
		"[stage-1 2/2] RUN false cached=false done=false error=true",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	if imps := r.Imports(); len(imps) != 1 || !strings.Contains(imps[0].Error, "not found") {
		t.Errorf("imports = %+v", imps)
	}
}

func TestStreamsDoNotMix(t *testing.T) {
	r := NewRecorder(100)
	out, errw := r.Writer(), r.Writer()
	var wg sync.WaitGroup
	for _, w := range []io.Writer{out, errw} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				io.WriteString(w, fmt.Sprintf("#%d [%d/50] RUN x", i+1, i+1))
				io.WriteString(w, "\n")
			}
		}()
	}
	wg.Wait()
	for _, l := range r.Tail() {
		if strings.Count(l, "#") != 1 {
			t.Fatalf("mixed line %q", l)
		}
	}
}

func TestUnterminatedLineInTail(t *testing.T) {
	r := NewRecorder(3)
	io.WriteString(r.Writer(), "a\nb\nERROR: no newline")
	if tail := r.Tail(); len(tail) != 3 || tail[2] != "ERROR: no newline" {
		t.Errorf("tail = %q", tail)
	}
}
