//go:build linux

package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Kill sends SIGKILL to the daemon the environment started as name (a
// buildkitd from StartBuildkitd, say) and waits for it to end: a crash,
// not a shutdown. What it started is left as a crash leaves it
// (KillLeftovers ends it); Close still unmounts and removes what it left
// under Dir.
func (e *Env) Kill(name string) error {
	p, err := e.procNamed(name)
	if err != nil {
		return err
	}
	if p.exited() {
		return errors.New(name + " has already exited")
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-p.done
	return nil
}

// KillLeftovers ends what a killed buildkitd named name left running:
// its process group (runc) and the build steps' processes, found by their
// root mount, a snapshot under the daemon's own root. Nothing else is
// touched.
func (e *Env) KillLeftovers(name string) error {
	p, err := e.procNamed(name)
	if err != nil {
		return err
	}
	var errs []error
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		errs = append(errs, err)
	}
	root := filepath.Join(e.Dir, name) + "/"
	entries, _ := os.ReadDir("/proc")
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if rootMountUnder(filepath.Join("/proc", d.Name(), "mountinfo"), root) {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("kill %d: %w", pid, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (e *Env) procNamed(name string) (*proc, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := slices.IndexFunc(e.procs, func(p *proc) bool { return p.name == name })
	if i < 0 {
		return nil, fmt.Errorf("no daemon named %s", name)
	}
	return e.procs[i], nil
}

// rootMountUnder reports whether the process whose mountinfo is at path
// has its / mounted from below dir (a container's rootfs, by overlay).
func rootMountUnder(path, dir string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == "/" {
			return strings.Contains(l, dir)
		}
	}
	return false
}
