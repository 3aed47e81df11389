//go:build linux

package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/inlinecache/action/internal/e2e/harness"
)

// TestSignalStopsBuild interrupts a running build the way a cancelled CI
// job does: the buildx child must be ended, the exit status non-zero and
// the temp dir gone.
func TestSignalStopsBuild(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			ctxDir := project(t, "slow")
			tmp := t.TempDir()
			before := buildStatuses(t)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, harness.Binary, "build", "--tag", repo(t)+":slow", "--push", ctxDir)
			cmd.Env = append(cleanEnv(harness.Env.Environ()), "TMPDIR="+tmp)
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout, cmd.Stderr = pw, pw
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pw.Close()

			var log strings.Builder
			started := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				sc := bufio.NewScanner(pr)
				once := false
				for sc.Scan() {
					log.WriteString(sc.Text() + "\n")
					if !once && strings.Contains(sc.Text(), `RUN ["/bin/busybox", "sleep", "600"]`) {
						once = true
						close(started)
					}
				}
			}()
			select {
			case <-started:
			case <-done:
				t.Fatalf("build ended before the slow step started:\n%s", log.String())
			}
			time.Sleep(time.Second) // let the step get going inside runc
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			<-done
			t.Logf("log:\n%s", log.String())
			if ctx.Err() != nil {
				t.Fatalf("inline-cache did not stop after %s", sig)
			}
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 {
				t.Errorf("exit = %v, want a non-zero status", err)
			}
			if !strings.Contains(log.String(), "stopped") {
				t.Errorf("log does not say the build was stopped")
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("temp files left behind: %v", left)
			}
			// The cancelled build must be in BuildKit's history as ended in
			// error, and nothing may still run.
			after := settledStatuses(t)
			if n := countStatus(after, "Running"); n != 0 {
				t.Errorf("%d builds still running in BuildKit", n)
			}
			if newFailed := countStatus(newBuilds(before, after), "Error"); newFailed != 1 {
				t.Errorf("BuildKit recorded %d new failed builds, want the cancelled one", newFailed)
			}
		})
	}
}

// buildStatuses reads BuildKit's history records: ref → status (Running,
// Completed, Error).
func buildStatuses(t *testing.T) map[string]string {
	t.Helper()
	out, err := harness.Env.Buildx(context.Background(), "history", "ls", "--format", "{{.Ref}} {{.Status}}")
	if err != nil {
		t.Fatalf("buildx history ls: %v\n%s", err, out)
	}
	n := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if ref, st, ok := strings.Cut(strings.TrimSpace(l), " "); ok {
			n[ref] = st
		}
	}
	return n
}

// newBuilds are the records of after whose refs before lacks: BuildKit
// keeps a bounded history, so after many builds an old record goes as a new
// one comes and comparing counts alone would miss it.
func newBuilds(before, after map[string]string) map[string]string {
	n := map[string]string{}
	for ref, st := range after {
		if _, old := before[ref]; !old {
			n[ref] = st
		}
	}
	return n
}

func countStatus(records map[string]string, status string) int {
	c := 0
	for _, st := range records {
		if st == status {
			c++
		}
	}
	return c
}

// settledStatuses waits for a cancelled build to settle, up to 10s.
func settledStatuses(t *testing.T) map[string]string {
	t.Helper()
	n := buildStatuses(t)
	for i := 0; i < 50 && countStatus(n, "Running") > 0; i++ {
		time.Sleep(200 * time.Millisecond)
		n = buildStatuses(t)
	}
	return n
}
