//go:build linux

// Command conformance runs the OCI distribution-spec conformance program
// against each registry the tests use (distribution 2.8, distribution v3,
// go-containerregistry's pkg/registry with the referrers API) and writes
// its summary to docs/conformance/, so that what each test registry
// supports is written down (make conformance). The program is built from
// the Go module proxy at a pinned version and cached with the other tools.
package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/testenv"
)

// Version is the conformance program's pseudo-version on the module proxy.
const Version = "v0.0.0-20260831232431-97274622c111"

const module = "github.com/opencontainers/distribution-spec/conformance"

var logger = log.New(os.Stderr, "conformance: ", 0)

func main() {
	// go-containerregistry's registry logs what it refuses through the
	// standard logger: only this program's own lines are wanted.
	log.SetOutput(io.Discard)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := realMain(ctx, "docs/conformance"); err != nil {
		logger.Fatal(err)
	}
}

// target is one registry under test.
type target struct {
	name, file, addr string
}

func realMain(ctx context.Context, out string) error {
	logf := func(f string, a ...any) { logger.Printf(f, a...) }
	tools, err := testenv.RegistryTools(ctx, logf)
	if err != nil {
		return err
	}
	bin, err := conformanceBinary(ctx, logf)
	if err != nil {
		return err
	}
	var targets []target
	for _, d := range testenv.Distributions {
		r, err := testenv.StartDistribution(ctx, tools, d)
		if err != nil {
			return err
		}
		defer r.Close()
		targets = append(targets, target{string(d), strings.ReplaceAll(strings.TrimPrefix(string(d), "distribution "), ".", "-"), r.Addr})
	}
	srv := httptest.NewServer(registrytest.NewRegistry(registry.WithReferrersSupport(true)))
	defer srv.Close()
	targets = append(targets, target{"go-containerregistry pkg/registry (WithReferrersSupport(true))", "ggcr", strings.TrimPrefix(srv.URL, "http://")})

	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var index bytes.Buffer
	fmt.Fprintf(&index, "# OCI distribution-spec conformance of the test registries\n\n"+
		"Written by `make conformance` (internal/conformance): the conformance program (%s@%s) run against each "+
		"registry the tests use, plain HTTP on loopback, OCI_VERSION=1.1, defaults otherwise. Do not edit by hand.\n\n"+
		"Counts are the program's own (every check, leaves and branches).\n\n"+
		"| registry | result | pass | fail | error | skip | disabled | failing leaf checks by data set | summary |\n|---|---|---|---|---|---|---|---|---|\n", module, Version)
	for _, tg := range targets {
		logf("running against %s at %s", tg.name, tg.addr)
		s, err := run(ctx, bin, tg)
		if err != nil {
			return fmt.Errorf("%s: %w", tg.name, err)
		}
		if err := os.WriteFile(filepath.Join(out, tg.file+".md"), []byte(s.markdown(tg)), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&index, "| %s | %s | %s | %s | %s | %s | %s | %s | [%s.md](%s.md) |\n", tg.name, s.result, s.total("Pass"), s.total("FAIL"), s.total("Error"),
			s.total("Skip"), s.total("Disabled"), s.failingGroups(), tg.file, tg.file)
	}
	return os.WriteFile(filepath.Join(out, "README.md"), index.Bytes(), 0o644)
}

// conformanceBinary builds the program once into the tool cache.
func conformanceBinary(ctx context.Context, logf func(string, ...any)) (string, error) {
	cache, err := testenv.CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "conformance-"+Version)
	bin := filepath.Join(dir, "conformance")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	logf("building the conformance program from the Go module proxy (once)")
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "go", "install", module+"@"+Version)
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off", "GOBIN="+tmp)
	if o, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %w\n%s", module, Version, err, o)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return bin, nil
}

// summary is one run's result.
type summary struct {
	result string // the program's verdict: Pass or Fail
	report string // its own summary: counts, API and data conformance
	cases  []junitCase
}

type junitCase struct {
	Name    string `xml:"name,attr"`
	Status  string `xml:"status,attr"`
	Failure *struct {
		Message string `xml:"message,attr"`
	} `xml:"failure"`
	Error *struct {
		Message string `xml:"message,attr"`
	} `xml:"error"`
	SystemOut string `xml:"system-out"`
}

// failingGroups counts the failing leaf checks by data set (the second
// part of their name: "sha512 blobs", "index-with-subject", …), most first.
func (s summary) failingGroups() string {
	n := map[string]int{}
	for _, c := range s.cases {
		if c.Status == "failure" || c.Status == "error" {
			parts := strings.SplitN(c.Name, "/", 3)
			if len(parts) > 1 {
				n[parts[1]]++
			}
		}
	}
	groups := make([]string, 0, len(n))
	for g := range n {
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool {
		if n[groups[i]] != n[groups[j]] {
			return n[groups[i]] > n[groups[j]]
		}
		return groups[i] < groups[j]
	})
	out := make([]string, len(groups))
	for i, g := range groups {
		out[i] = fmt.Sprintf("%s %d", g, n[g])
	}
	return strings.Join(out, ", ")
}

// total is the program's own count of status ("Pass", "FAIL", …) from
// its summary lines ("  Pass.....:        703").
func (s summary) total(status string) string {
	for _, l := range strings.Split(s.report, "\n") {
		name, n, ok := strings.Cut(strings.TrimSpace(l), ":")
		if ok && strings.TrimRight(name, ".") == status {
			return strings.TrimSpace(n)
		}
	}
	return "?"
}

func run(ctx context.Context, bin string, tg target) (summary, error) {
	var s summary
	results, err := os.MkdirTemp("", "conformance-")
	if err != nil {
		return s, err
	}
	defer os.RemoveAll(results)
	rctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(rctx, bin)
	cmd.Dir = results
	cmd.Env = append(os.Environ(), "OCI_REGISTRY="+tg.addr, "OCI_TLS=disabled", "OCI_VERSION=1.1", "OCI_LOG=error",
		"OCI_REPO1=conformance/repo1", "OCI_REPO2=conformance/repo2", "OCI_RESULTS_DIR="+results)
	out, err := cmd.Output()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return s, err
	}
	text := string(out)
	i := strings.Index(text, "OCI Conformance Result:")
	if i < 0 {
		return s, fmt.Errorf("no result in the program's output:\n%s", text)
	}
	s.report = strings.TrimSpace(text[i:])
	s.result, _, _ = strings.Cut(strings.TrimSpace(strings.TrimPrefix(text[i:], "OCI Conformance Result:")), "\n")
	b, err := os.ReadFile(filepath.Join(results, "junit.xml"))
	if err != nil {
		return s, err
	}
	var j struct {
		Suites []struct {
			Cases []junitCase `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &j); err != nil {
		return s, fmt.Errorf("junit.xml: %w", err)
	}
	for _, st := range j.Suites {
		s.cases = append(s.cases, st.Cases...)
	}
	return s, nil
}

func (s summary) markdown(tg target) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Conformance: %s\n\nWritten by `make conformance` with %s@%s. Do not edit by hand.\n\n```\n%s\n```\n", tg.name, module, Version, s.report)
	var failed []string
	for _, c := range s.cases {
		msg := ""
		switch {
		case c.Failure != nil:
			msg = c.Failure.Message
		case c.Error != nil:
			msg = c.Error.Message
		}
		if c.Status == "failure" || c.Status == "error" {
			if msg == "" {
				msg = firstLine(c.SystemOut)
			}
			failed = append(failed, fmt.Sprintf("| %s | %s |", c.Name, tidy(msg)))
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(&b, "\n## Not conforming\n\n| test | what the program said |\n|---|---|\n%s\n", strings.Join(failed, "\n"))
	}
	return b.String()
}

// digestRE finds digests: random per run, so the summary leaves them out.
var digestRE = regexp.MustCompile(`(sha256|sha512):[0-9a-f]{16,}`)

// tidy makes a message one stable, short table cell.
func tidy(msg string) string {
	msg = digestRE.ReplaceAllString(firstLine(msg), "$1:…")
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "…"
	}
	return strings.ReplaceAll(msg, "|", `\|`)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
