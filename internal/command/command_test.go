package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the child program: with COMMAND_TEST_CHILD set
// it behaves as the mode says instead of running tests.
func TestMain(m *testing.M) {
	switch os.Getenv("COMMAND_TEST_CHILD") {
	case "":
		os.Exit(m.Run())
	case "exit3":
		fmt.Println("to stdout")
		fmt.Fprintln(os.Stderr, "to stderr")
		os.Exit(3)
	case "trap":
		// Wait for SIGTERM, record it, exit as a cancelled buildx does.
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		fmt.Println("ready")
		<-ch
		_ = os.WriteFile(os.Getenv("COMMAND_TEST_MARKER"), []byte("SIGTERM"), 0o644)
		os.Exit(1)
	}
}

func self(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func TestExitStatusAndStreams(t *testing.T) {
	var out, errOut strings.Builder
	err := Exec(context.Background(), Cmd{
		Path: self(t), Env: append(os.Environ(), "COMMAND_TEST_CHILD=exit3"),
		Stdout: &out, Stderr: &errOut,
	})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("err = %v, want exit status 3", err)
	}
	if out.String() != "to stdout\n" || errOut.String() != "to stderr\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errOut.String())
	}
}

func TestNotFound(t *testing.T) {
	err := Exec(context.Background(), Cmd{Path: filepath.Join(t.TempDir(), "missing")})
	var ee *ExitError
	if err == nil || errors.As(err, &ee) || !strings.Contains(err.Error(), "cannot run") {
		t.Errorf("err = %v", err)
	}
}

// readyWriter signals when the child printed "ready".
type readyWriter struct{ ready chan struct{} }

func (w *readyWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "ready") {
		select {
		case <-w.ready:
		default:
			close(w.ready)
		}
	}
	return len(p), nil
}

func TestCancelSendsSIGTERM(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &readyWriter{ready: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- Exec(ctx, Cmd{
			Path:   self(t),
			Env:    append(os.Environ(), "COMMAND_TEST_CHILD=trap", "COMMAND_TEST_MARKER="+marker),
			Stdout: w, Stderr: os.Stderr,
		})
	}()
	select {
	case <-w.ready:
	case err := <-done:
		t.Fatalf("child ended early: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("child never got ready")
	}
	cancel()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Errorf("err = %v, want a stopped error", err)
	}
	if b, _ := os.ReadFile(marker); string(b) != "SIGTERM" {
		t.Errorf("child did not receive SIGTERM (marker %q)", b)
	}
}
