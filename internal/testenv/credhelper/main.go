// Command credhelper is a docker credential helper for the tests: built as
// docker-credential-<name>, it answers "get" for the registries listed in
// <executable>.json ({"host:port": {"Username": …, "Secret": …}}) and
// appends each request, with the name of the program that ran it, to
// <executable>.log, so a test can prove the helper — not some other source —
// supplied the credentials, and to whom. It never stores.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/docker/docker-credential-helpers/credentials"
)

type entry struct{ Username, Secret string }

type helper struct {
	exe string
}

func (h helper) load() (map[string]entry, error) {
	b, err := os.ReadFile(h.exe + ".json")
	if err != nil {
		return nil, err
	}
	m := map[string]entry{}
	return m, json.Unmarshal(b, &m)
}

func (h helper) logf(format string, a ...any) {
	f, err := os.OpenFile(h.exe+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s: "+format+"\n", append([]any{caller()}, a...)...)
}

// caller names the program that ran the helper (Linux: its comm).
func caller() string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", os.Getppid()))
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

var errReadOnly = errors.New("this test helper does not store credentials")

func (h helper) Add(*credentials.Credentials) error { return errReadOnly }
func (h helper) Delete(string) error                { return errReadOnly }

// Get matches the host exactly, as docker's own helpers do after
// normalising the address: "https://host:port/" and "host:port" are one.
func (h helper) Get(serverURL string) (string, string, error) {
	host := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(serverURL, "https://"), "http://"), "/")
	m, err := h.load()
	if err != nil {
		return "", "", err
	}
	e, ok := m[host]
	if !ok {
		h.logf("get %s: not found", serverURL)
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	h.logf("get %s: found", serverURL)
	return e.Username, e.Secret, nil
}

func (h helper) List() (map[string]string, error) {
	m, err := h.load()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for host, e := range m {
		out[host] = e.Username
	}
	return out, nil
}

func main() {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	credentials.Serve(helper{exe: exe})
}
