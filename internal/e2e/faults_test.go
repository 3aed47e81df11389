//go:build linux

package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inlinecache/action/internal/e2e/harness"

	"github.com/inlinecache/action/internal/faultproxy"
	"github.com/inlinecache/action/internal/registrytest"
)

// TestVerifyTimeout runs inline-cache verify and inspect through a
// registry that stops answering: the verify-timeout flag bounds the run,
// the exit status is 1 and the message names the deadline and what was
// being read. A bad duration is bad input (exit 2, naming the input).
func TestVerifyTimeout(t *testing.T) {
	t.Parallel()
	ref := registrytest.PushIndex(t, repo(t)+":multi",
		registrytest.Image(t, "linux/amd64", 2, registrytest.Valid),
		registrytest.Image(t, "linux/arm64", 2, registrytest.Valid))
	digest := ref[strings.LastIndex(ref, "@")+1:]
	p := faultproxy.Start(harness.Env.Registry, false)
	defer p.Close()
	p.IndexDigest = digest
	through := p.Host + strings.TrimPrefix(ref, harness.Env.Registry)

	// verify fails on a platform it cannot read; inspect, which shows
	// what it could read, fails when it cannot read the index.
	for cmd, kind := range map[string]faultproxy.Kind{"verify": faultproxy.Manifest, "inspect": faultproxy.Index} {
		t.Run(cmd+" hung "+string(kind), func(t *testing.T) {
			p.Inject(kind, faultproxy.Hang, -1)
			start := time.Now()
			r := cli(t, cmd, "--verify-timeout", "3s", through)
			elapsed := time.Since(start)
			if r.Code != 1 {
				t.Errorf("exit %d, want 1", r.Code)
			}
			if elapsed > 10*time.Second {
				t.Errorf("ran %s with verify-timeout 3s", elapsed)
			}
			want := []string{"verification deadline of 3s (verify-timeout) reached", p.Host, "e2e/testverifytimeout"}
			if kind == faultproxy.Manifest {
				want = append(want, "of platform linux/", "manifest sha256:")
			} else {
				want = append(want, "reading manifest e2e/testverifytimeout@"+digest)
			}
			for _, w := range want {
				if !strings.Contains(r.Log, w) {
					t.Errorf("output lacks %q", w)
				}
			}
		})
	}
	t.Run("verify warn", func(t *testing.T) {
		p.Inject(faultproxy.Index, faultproxy.Hang, -1)
		r := cli(t, "verify", "--verify", "warn", "--verify-timeout", "2s", through)
		if r.Code != 0 || !strings.Contains(r.Log, "verification deadline of 2s") || !strings.Contains(r.Log, "warn") {
			t.Errorf("exit %d, want 0 and a warning naming the deadline", r.Code)
		}
	})
	t.Run("hung once under a short deadline, retried", func(t *testing.T) {
		// One attempt's bound (30 s) exceeds the deadline: the attempt is
		// cut at half the time left, and the retry verifies.
		p.Inject(faultproxy.Manifest, faultproxy.Hang, 1)
		r := cli(t, "verify", "--verify-timeout", "4s", through)
		if r.Code != 0 || p.Injected() != 1 || p.Counts()[faultproxy.Manifest] != 3 {
			t.Errorf("exit %d after %d platform manifest reads (%d hung), want 0 after 3 (1)", r.Code, p.Counts()[faultproxy.Manifest], p.Injected())
		}
	})
	t.Run("transient 503 retried", func(t *testing.T) {
		p.Inject(faultproxy.Blob, faultproxy.Status503, 1)
		r := cli(t, "verify", through)
		if r.Code != 0 || p.Counts()[faultproxy.Blob] != 3 {
			t.Errorf("exit %d after %d config reads, want 0 after 3", r.Code, p.Counts()[faultproxy.Blob])
		}
	})
	t.Run("bad duration", func(t *testing.T) {
		p.Inject(faultproxy.Ping, faultproxy.None, 0)
		r := cli(t, "verify", "--verify-timeout", "soon", through)
		if r.Code != 2 || !strings.Contains(r.Log, `input "verify-timeout": "soon" is not a positive Go duration`) {
			t.Errorf("exit %d, want 2 naming the input", r.Code)
		}
		if n := p.Counts()[faultproxy.Ping]; n != 0 {
			t.Errorf("%d registry requests before the input was checked", n)
		}
	})
}

// startedRun is the binary running a build in the background, its log
// read as it comes.
type startedRun struct {
	cmd  *exec.Cmd
	tmp  string
	log  strings.Builder
	done chan struct{}
}

// startBuild runs "inline-cache build" as the action does, with TMPDIR
// of its own, and returns once the log shows a line containing at.
func startBuild(t *testing.T, at string, extraEnv []string, inputs map[string]string) *startedRun {
	t.Helper()
	dir := t.TempDir()
	r := &startedRun{tmp: t.TempDir(), done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	r.cmd = exec.CommandContext(ctx, harness.Binary, "build")
	r.cmd.Env = append(cleanEnv(harness.Env.Environ()), extraEnv...)
	r.cmd.Env = append(r.cmd.Env, "TMPDIR="+r.tmp, "GITHUB_ACTIONS=true",
		"GITHUB_OUTPUT="+filepath.Join(dir, "output"), "GITHUB_STEP_SUMMARY="+filepath.Join(dir, "summary"))
	for k, v := range inputs {
		r.cmd.Env = append(r.cmd.Env, "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stdout, r.cmd.Stderr = pw, pw
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	reached := make(chan struct{})
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(pr)
		once := false
		for sc.Scan() {
			r.log.WriteString(sc.Text() + "\n")
			if !once && strings.Contains(sc.Text(), at) {
				once = true
				close(reached)
			}
		}
	}()
	select {
	case <-reached:
	case <-r.done:
		_ = r.cmd.Wait()
		t.Fatalf("build ended before %q:\n%s", at, r.log.String())
	}
	return r
}

// wait waits for the run to end and checks what every failed build must
// leave: exit 1, a "Build failed" annotation saying what broke, the
// result block and summary with the same, cache-verified false, the
// temp dir empty and no buildx still running for it.
func (r *startedRun) wait(t *testing.T, says ...string) {
	t.Helper()
	err := r.cmd.Wait()
	<-r.done
	log := r.log.String()
	t.Logf("log:\n%s", log)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("exit = %v, want status 1", err)
	}
	annotation := ""
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "::error title=Build failed::") {
			annotation = l
		}
	}
	if annotation == "" {
		t.Fatal("no Build failed annotation")
	}
	for _, w := range says {
		if !strings.Contains(annotation, w) {
			t.Errorf("the annotation does not say %q", w)
		}
	}
	summary, _ := os.ReadFile(filepath.Join(filepath.Dir(outputFile(r.cmd.Env)), "summary"))
	for _, w := range says {
		if !strings.Contains(string(summary), w) {
			t.Errorf("the summary does not say %q:\n%s", w, summary)
		}
	}
	outputs := parseOutputs(t, outputFile(r.cmd.Env))
	if outputs["cache-verified"] != "false" {
		t.Errorf("cache-verified = %q", outputs["cache-verified"])
	}
	if left, _ := os.ReadDir(r.tmp); len(left) != 0 {
		t.Errorf("temp files left behind: %v", left)
	}
	if pids := processesUsing(r.tmp); len(pids) != 0 {
		t.Errorf("processes still running with the run's temp dir: %v", pids)
	}
}

func outputFile(environ []string) string {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "GITHUB_OUTPUT="); ok {
			return v
		}
	}
	return ""
}

// processesUsing lists the processes whose command line or environment
// names dir: what the run started (buildx inherits its TMPDIR).
func processesUsing(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		for _, f := range []string{"cmdline", "environ"} {
			b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), f))
			if strings.Contains(string(b), dir) {
				out = append(out, e.Name())
				break
			}
		}
	}
	return out
}

// TestBuildkitdKilledMidBuild: the BuildKit daemon dies (SIGKILL) while a
// step runs. The build fails at once, naming the lost connection.
func TestBuildkitdKilledMidBuild(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const daemon, builder = "buildkitd-killed", "inline-cache-killed"
	sock, err := harness.Env.StartBuildkitd(ctx, daemon, harness.Env.RegistryTOML())
	if err != nil {
		t.Fatal(err)
	}
	if out, err := harness.Env.Buildx(ctx, "create", "--name", builder, "--driver", "remote", "unix://"+sock); err != nil {
		t.Fatalf("buildx create: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		// What the crash left: runc and the step's processes.
		if err := harness.Env.KillLeftovers(daemon); err != nil {
			t.Error(err)
		}
		_, _ = harness.Env.Buildx(context.Background(), "rm", "--force", builder)
	})
	r := startBuild(t, `RUN ["/bin/busybox", "sleep", "600"]`, nil, map[string]string{
		"context": project(t, "slow"), "tags": repo(t) + ":slow", "push": "true", "builder": builder,
	})
	time.Sleep(time.Second) // let the step get going inside runc
	if err := harness.Env.Kill(daemon); err != nil {
		t.Fatal(err)
	}
	// buildx says "failed to receive status: rpc error: code = Unavailable"
	// or "failed to solve: Unavailable: …", depending on when it noticed.
	r.wait(t, "build failed: failed to build: ", "Unavailable", "(the connection to the BuildKit daemon was lost: it stopped or crashed during the build)")
}

// TestRegistryStoppedDuringPush: the registry goes away once the image is
// built and being exported. The push fails; BuildKit's own error is in
// the annotation and the result block.
func TestRegistryStoppedDuringPush(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reg, err := harness.Env.StartRegistry(ctx, "registry-stopped")
	if err != nil {
		t.Fatal(err)
	}
	r := startBuild(t, "exporting to image", nil, map[string]string{
		"context": project(t, "app"), "tags": reg.Addr + "/e2e/stopped:main", "push": "true", "no-cache": "true",
	})
	if err := reg.Stop(); err != nil {
		t.Fatal(err)
	}
	r.wait(t, "build failed: failed to build: failed to solve: failed to push "+reg.Addr+"/e2e/stopped", "connection refused")
}
