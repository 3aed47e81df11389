// Command capfit is a docker runtime for the test environment's engine: it
// runs runc with the same arguments after removing from the bundle's
// config.json the capabilities this process's bounding set lacks.
//
// A privileged container (buildx's docker-container driver always makes
// one) asks for every capability the kernel knows; where the machine runs
// the tests with a smaller bounding set (CAP_SYS_RESOURCE dropped, say),
// runc fails with "unable to apply caps: operation not permitted". The
// container gets every capability it can have instead.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// capNames are the capability numbers of Linux, in order.
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
	"CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
	"CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "capfit:", err)
		os.Exit(1)
	}
}

// runc is set at build time (-ldflags -X main.runc=…).
var runc = "/usr/sbin/runc"

func run() error {
	args := os.Args[1:]
	// "create --bundle dir" reads dir/config.json, whose process is under
	// "process"; "exec --process file" reads a process spec.
	specs := map[string]func(v string) error{
		"--bundle":  func(v string) error { return fit(filepath.Join(v, "config.json"), "process") },
		"--process": func(v string) error { return fit(v, "") },
	}
	specs["-b"], specs["-p"] = specs["--bundle"], specs["--process"]
	for i, a := range args {
		flag, v, ok := strings.Cut(a, "=")
		if !ok && i+1 < len(args) {
			v = args[i+1]
		}
		if f := specs[flag]; f != nil && v != "" {
			if err := f(v); err != nil {
				return err
			}
		}
	}
	return syscall.Exec(runc, append([]string{runc}, args...), os.Environ())
}

// fit drops the capabilities outside the bounding set from every set of
// a process spec: the file's own, or the one under key. The rest of the
// file is kept as it is.
func fit(path, key string) error {
	bnd, err := boundingSet()
	if err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	proc := doc
	if key != "" {
		if err := json.Unmarshal(doc[key], &proc); err != nil {
			return nil
		}
	}
	if proc["capabilities"] == nil {
		return nil
	}
	var caps map[string][]string
	if err := json.Unmarshal(proc["capabilities"], &caps); err != nil {
		return fmt.Errorf("%s: capabilities: %w", path, err)
	}
	for set, list := range caps {
		caps[set] = slices.DeleteFunc(list, func(c string) bool {
			n := slices.Index(capNames, c)
			return n >= 0 && bnd&(1<<n) == 0
		})
	}
	if proc["capabilities"], err = json.Marshal(caps); err != nil {
		return err
	}
	if key != "" {
		if doc[key], err = json.Marshal(proc); err != nil {
			return err
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

func boundingSet() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapBnd:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no CapBnd in /proc/self/status")
}
