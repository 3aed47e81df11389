package buildlog

import (
	"io"
	"strings"
	"testing"
)

func TestFailure(t *testing.T) {
	for _, tt := range []struct{ name, log, want string }{
		{"push refused", "#3 importing cache manifest from r/a:1\n#3 ERROR: not found\n#11 exporting to image\n" +
			"#11 ERROR: failed to push r/a:1: connection refused\n------\nERROR: failed to build: failed to solve: failed to push r/a:1: connection refused\n",
			"failed to build: failed to solve: failed to push r/a:1: connection refused"},
		{"daemon killed", "#6 [2/2] RUN sleep 600\nERROR: failed to build: failed to receive status: rpc error: code = Unavailable desc = error reading from server: EOF\n",
			"failed to build: failed to receive status: rpc error: code = Unavailable desc = error reading from server: EOF (the connection to the BuildKit daemon was lost: it stopped or crashed during the build)"},
		{"daemon killed, during the solve", "ERROR: failed to build: failed to solve: Unavailable: connection error: desc = \"transport: Error while dialing\"\n",
			"failed to build: failed to solve: Unavailable: connection error: desc = \"transport: Error while dialing\" (the connection to the BuildKit daemon was lost: it stopped or crashed during the build)"},
		{"step error only, import error ignored", "#3 importing cache manifest from r/a:1\n#3 ERROR: not found\n#5 [1/1] RUN false\n#5 ERROR: process did not complete successfully\n",
			"process did not complete successfully"},
		{"nothing", "#1 DONE 0.1s\n", ""},
	} {
		r := NewRecorder(25)
		if _, err := io.Copy(r.Writer(), strings.NewReader(tt.log)); err != nil {
			t.Fatal(err)
		}
		if got := r.Failure(); got != tt.want {
			t.Errorf("%s: Failure() = %q, want %q", tt.name, got, tt.want)
		}
	}
}
