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
)

// TestSignalStopsBuild interrupts a running build the way a cancelled CI
// job does: the buildx child must be ended, the exit status non-zero and
// the temp dir gone.
func TestSignalStopsBuild(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			ctxDir := project(t, "slow")
			tmp := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, "build", "--tag", repo(t)+":slow", "--push", ctxDir)
			cmd.Env = append(cleanEnv(env.Environ()), "TMPDIR="+tmp)
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
			if running := runningBuilds(t); running != 0 {
				t.Errorf("%d builds still running in BuildKit", running)
			}
		})
	}
}

// runningBuilds counts builds BuildKit still reports as running; a
// cancelled build may take a moment to settle.
func runningBuilds(t *testing.T) int {
	t.Helper()
	var n int
	for range 50 {
		out, err := env.Buildx(context.Background(), "history", "ls", "--format", "{{.Status}}")
		if err != nil {
			t.Fatalf("buildx history ls: %v\n%s", err, out)
		}
		n = strings.Count(out, "Running")
		if n == 0 {
			return 0
		}
		time.Sleep(200 * time.Millisecond)
	}
	return n
}
