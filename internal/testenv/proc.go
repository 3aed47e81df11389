//go:build linux

package testenv

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a daemon the environment started.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	mu   sync.Mutex
	err  error
}

// spawner runs what is handed to it on one OS thread that never exits.
// A daemon's parent-death signal (Pdeathsig) fires when the thread that
// started it exits, not the process, and the Go runtime discards threads
// (one whose goroutine ends locked, as startInNetNS's does): a daemon
// started from such a thread would be killed in the middle of the tests.
var spawner = sync.OnceValue(func() chan<- func() {
	ch := make(chan func())
	go func() {
		runtime.LockOSThread() // for good: this goroutine never ends
		for f := range ch {
			f()
		}
	}()
	return ch
})

// startOnSpawner starts cmd from the spawner's thread.
func startOnSpawner(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	spawner() <- func() { errc <- cmd.Start() }
	return <-errc
}

// startHere starts cmd from the calling goroutine's thread, which must be
// locked and outlive the daemon (a network namespace's thread).
func startHere(cmd *exec.Cmd) error { return cmd.Start() }

func startProc(dir, name string, env []string, start func(*exec.Cmd) error, path string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, "logs", name+".log")
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = env // nil: this process's
	cmd.Stdout = lf
	cmd.Stderr = lf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own process group: a Ctrl-C meant for the tests reaches the
		// daemons only through stop. Pdeathsig: a killed test run does not
		// leave daemons behind.
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
	if err := start(cmd); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		lf.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) waitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// stop asks the daemon to end and kills it if it does not within 15s.
func (p *proc) stop() error {
	if p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("%s did not stop on SIGTERM; killed", p.name)
	}
}

func (p *proc) logTail() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return p.name + " log:\n  " + strings.Join(lines, "\n  ")
}

// scratchSize bounds the tmpfs an environment keeps its registry, builder
// roots and engine data in; tmpfs takes memory only for what is written.
const scratchSize = "size=12g,mode=0755"

// mountScratch puts an environment's directory in memory: the registry's
// blobs, BuildKit's snapshots and dockerd's layers are written, unpacked
// and deleted over and over by the tests (gigabytes per run), and on a
// virtual disk that I/O, not the builds, was what the suite waited on.
// The builds themselves are unchanged. Without the privilege to mount it
// stays on disk.
func mountScratch(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, scratchSize); err != nil {
		return fmt.Errorf("mount a tmpfs on %s: %w", dir, err)
	}
	return nil
}

// unmountUnder detaches any mount a killed buildkitd left below dir, so the
// directory can be removed.
func unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			mounts = append(mounts, fields[4])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
}
