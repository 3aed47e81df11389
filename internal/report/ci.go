package report

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// GitLab is the plain sink with GitLab's collapsible log sections. It never
// prints GitHub workflow commands: GitLab would show them, and anything in
// them, in clear.
type GitLab struct {
	Plain
	// now is the section timestamp source (tests fix it).
	now func() time.Time
}

var sectionName = regexp.MustCompile(`[^a-z0-9_.-]+`)

// Group opens a collapsed section; GitLab folds it in the job log.
func (g *GitLab) Group(title string) func() {
	now := g.now
	if now == nil {
		now = time.Now
	}
	name := strings.Trim(sectionName.ReplaceAllString(strings.ToLower(title), "_"), "_")
	fmt.Fprintf(g.w, "\x1b[0Ksection_start:%d:%s[collapsed=true]\r\x1b[0K%s\n", now().Unix(), name, title)
	return func() { fmt.Fprintf(g.w, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", now().Unix(), name) }
}

// DotenvNames maps step outputs to the variables of the --dotenv file. Only
// single-line values are there: GitLab's dotenv reports take nothing else.
var DotenvNames = map[string]string{
	OutputImageID:         "IMAGEID",
	OutputDigest:          "DIGEST",
	OutputCacheVerified:   "CACHE_VERIFIED",
	OutputCachedSteps:     "CACHED_STEPS",
	OutputTotalSteps:      "TOTAL_STEPS",
	OutputCacheHit:        "CACHE_HIT",
	OutputUncachedSeconds: "UNCACHED_SECONDS",
}

// Dotenv wraps outputs and also writes the outputs named in DotenvNames to a
// dotenv file (GitLab's artifacts:reports:dotenv, or any CI that reads
// KEY=VALUE files). The file is rewritten whole on every output, through a
// temporary file and a rename, so a failed run leaves what it had.
type Dotenv struct {
	Outputs
	path   string
	values map[string]string
}

// WithDotenv adds a dotenv file to outputs; an empty path returns outputs.
func WithDotenv(outputs Outputs, path string) Outputs {
	if path == "" {
		return outputs
	}
	return &Dotenv{Outputs: outputs, path: path, values: map[string]string{}}
}

func (d *Dotenv) SetOutput(name, value string) error {
	err := d.Outputs.SetOutput(name, value)
	key, ok := DotenvNames[name]
	if !ok {
		return err
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		// A newline would end the variable and start another one that the
		// value chose: refuse rather than let a value forge variables.
		return joinErr(err, fmt.Errorf("dotenv file %s: the value of %s has a line break; not written", d.path, key))
	}
	d.values[key] = value
	return joinErr(err, d.write())
}

// Preflight checks that the dotenv file's directory exists and can take it.
func (d *Dotenv) Preflight() error {
	if err := d.Outputs.Preflight(); err != nil {
		return err
	}
	return d.write()
}

func (d *Dotenv) write() error {
	keys := make([]string, 0, len(d.values))
	for k := range d.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, d.values[k])
	}
	tmp, err := os.CreateTemp(filepath.Dir(d.path), ".dotenv-*")
	if err != nil {
		return fmt.Errorf("dotenv file %s cannot be written: %w", d.path, unwrapPath(err))
	}
	_, err = tmp.WriteString(b.String())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), d.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("dotenv file %s cannot be written: %w", d.path, err)
	}
	return nil
}

// ReadDotenv parses a dotenv file this package wrote (for tests and tools).
func ReadDotenv(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if l == "" {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return out, fmt.Errorf("line %q is not KEY=VALUE", l)
		}
		out[k] = v
	}
	return out, nil
}

func joinErr(a, b error) error {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return fmt.Errorf("%w; %w", a, b)
}
