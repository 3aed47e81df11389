package examples

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/report"
)

func read(t *testing.T, rel string) []byte {
	t.Helper()
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dotenvNames() []string {
	var out []string
	for _, v := range report.DotenvNames {
		out = append(out, v)
	}
	return out
}

// TestExamplesValid: every example parses (strictly: no key the syntax
// lacks), uses only the action's inputs and outputs, and every file in
// examples/ is one of them, so none goes unchecked.
func TestExamplesValid(t *testing.T) {
	for _, rel := range Workflows {
		t.Run(rel, func(t *testing.T) {
			w, err := ParseWorkflow(read(t, rel))
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Check(); err != nil {
				t.Error(err)
			}
			for name, j := range w.Jobs {
				// The end-to-end tests map this label to the host (act -P).
				if j.RunsOn != "ubuntu-latest" {
					t.Errorf("job %s runs on %q, want ubuntu-latest", name, j.RunsOn)
				}
			}
		})
	}
	t.Run(GitLab, func(t *testing.T) {
		p, err := ParsePipeline(read(t, GitLab))
		if err != nil {
			t.Fatal(err)
		}
		run := GitLabRun{Registry: "registry.gitlab.com", Project: "acme/app", Branch: "main", DefaultBranch: "main", Dir: "/builds/acme/app", Password: "x"}
		if err := p.CheckPipeline("build", "inline-cache", run.Predefined(), dotenvNames()); err != nil {
			t.Error(err)
		}
	})

	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	known := append(slices.Clone(Workflows), GitLab, "README.md")
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !slices.Contains(known, filepath.ToSlash(rel)) {
			t.Errorf("examples/%s is checked by no test: add it to Workflows or here", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

const sample = `name: image
on: push
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: docker/setup-buildx-action@v3
      - uses: docker/login-action@v3
        with:
          registry: ghcr.io
      - uses: inlinecache/action@v1
        id: build
        with:
          tags: ghcr.io/acme/app:main
          push: true
      - run: echo "${{ steps.build.outputs.digest }}"
`

// TestCheckFindsMistakes: each mistake a user could copy is reported.
func TestCheckFindsMistakes(t *testing.T) {
	if w, err := ParseWorkflow([]byte(sample)); err != nil || w.Check() != nil {
		t.Fatalf("the sample itself: %v, %v", err, w.Check())
	}
	for _, c := range []struct{ name, from, to, want string }{
		{"misspelt input", "push: true", "pushh: true", `has no input "pushh"`},
		{"build-push-action flag name", "tags:", "tag:", `has no input "tag"`},
		{"wrong output", "outputs.digest", "outputs.digests", `has no output "digests"`},
		{"unknown step", "steps.build.outputs", "steps.bulid.outputs", `no step has the id "bulid"`},
		{"misspelt step key", "        with:\n          tags", "        wiht:\n          tags", "field wiht not found"},
		{"invalid YAML", "    steps:", "   steps:", "workflow: yaml"},
		{"no action", "inlinecache/action@v1", "docker/build-push-action@v6", "no step uses inlinecache/action@v1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkMistake(t, sample, "sample", c.from, c.to, c.want, func(src []byte) error {
				w, err := ParseWorkflow(src)
				if err == nil {
					err = w.Check()
				}
				return err
			})
		})
	}
}

// checkMistake puts a mistake into src (from becomes to) and wants the
// error check finds in the result to contain want; what names src.
func checkMistake(t *testing.T, src, what, from, to, want string, check func([]byte) error) {
	t.Helper()
	s := strings.Replace(src, from, to, 1)
	if s == src {
		t.Fatalf("%q is not in the %s", from, what)
	}
	if err := check([]byte(s)); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one containing %q", err, want)
	}
}

// TestForTest: the setup steps go, the replacements happen in values only,
// and nothing else changes (comments included).
func TestForTest(t *testing.T) {
	src := strings.Replace(sample, "      - uses: inlinecache/action@v1\n", "      # the build\n      - uses: inlinecache/action@v1\n", 1)
	got, err := ForTest([]byte(src), Rewrite{Replace: map[string]string{"ghcr.io": "127.0.0.1:5000/ns"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `name: image
on: push
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      # the build
      - uses: inlinecache/action@v1
        id: build
        with:
          tags: 127.0.0.1:5000/ns/acme/app:main
          push: true
      - run: echo "${{ steps.build.outputs.digest }}"
`
	if string(got.YAML) != want {
		t.Errorf("rewritten:\n%s\nwant:\n%s", got.YAML, want)
	}
	if !slices.Equal(got.Removed, []string{"image: docker/setup-buildx-action@v3", "image: docker/login-action@v3"}) {
		t.Errorf("removed %q", got.Removed)
	}
	// The login step's ghcr.io went with the step: one value replaced.
	if got.Replaced["ghcr.io"] != 1 {
		t.Errorf("replaced %v", got.Replaced)
	}

	if _, err := ForTest([]byte(sample), Rewrite{Replace: map[string]string{"linux/arm64": "linux/386"}}); err == nil || !strings.Contains(err.Error(), "occurs nowhere") {
		t.Errorf("a replacement that matches nothing: %v", err)
	}
	if _, err := ForTest([]byte("jobs: [\n"), Rewrite{}); err == nil {
		t.Errorf("invalid YAML rewritten without an error")
	}
}

// TestForTestKeepsExamples: rewriting an example changes only what the
// rewrite names: the rewritten workflow decodes to the example with the
// setup steps dropped and the strings replaced.
func TestForTestKeepsExamples(t *testing.T) {
	repl := map[string]string{"ghcr.io": "127.0.0.1:5000/ns"}
	for _, rel := range []string{Basic, PullRequest, MultiPlatform} {
		t.Run(rel, func(t *testing.T) {
			src := read(t, rel)
			got, err := ForTest(src, Rewrite{Replace: repl})
			if err != nil {
				t.Fatal(err)
			}
			orig, err := ParseWorkflow([]byte(strings.ReplaceAll(string(src), "ghcr.io", repl["ghcr.io"])))
			if err != nil {
				t.Fatal(err)
			}
			rew, err := ParseWorkflow(got.YAML)
			if err != nil {
				t.Fatal(err)
			}
			for name, j := range orig.Jobs {
				var kept []Step
				for _, s := range j.Steps {
					if !slices.ContainsFunc(SetupActions, func(p string) bool { return strings.HasPrefix(s.Uses, p) }) {
						kept = append(kept, s)
					}
				}
				if len(kept) != len(rew.Jobs[name].Steps) {
					t.Fatalf("job %s: %d steps after the rewrite, want %d", name, len(rew.Jobs[name].Steps), len(kept))
				}
				for i := range kept {
					if a, b := kept[i], rew.Jobs[name].Steps[i]; a.Uses != b.Uses || a.Run != b.Run || a.ID != b.ID || a.If != b.If || !mapsEqual(a.With, b.With) || !mapsEqual(a.Env, b.Env) {
						t.Errorf("job %s step %d changed:\n%+v\n%+v", name, i, a, b)
					}
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestCommand(t *testing.T) {
	env := map[string]string{"CI_REGISTRY_IMAGE": "r.example/acme/app", "TAG": "v1"}
	argv, err := Command([]string{"cd /tmp", "inline-cache build --tag $CI_REGISTRY_IMAGE:${TAG} --push ."}, "inline-cache", env)
	if err != nil || strings.Join(argv, " ") != "inline-cache build --tag r.example/acme/app:v1 --push ." {
		t.Errorf("argv %q, %v", argv, err)
	}
	for _, c := range []struct{ line, want string }{
		{`inline-cache build --tag "$CI_REGISTRY_IMAGE" .`, "needs a shell"},
		{`inline-cache build . | tee log`, "needs a shell"},
		{`inline-cache build --build-arg V=$(git describe) .`, "needs a shell"},
		{`inline-cache build --tag $UNSET .`, "$UNSET is not set"},
	} {
		if _, err := Command([]string{c.line}, "inline-cache", env); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.line, err, c.want)
		}
	}
	if _, err := Command([]string{"echo"}, "inline-cache", env); err == nil {
		t.Errorf("a script without the command: no error")
	}
}

func TestCheckPipelineFindsMistakes(t *testing.T) {
	src := string(read(t, GitLab))
	run := GitLabRun{Registry: "registry.gitlab.com", Project: "acme/app", Branch: "main", DefaultBranch: "main", Dir: "/builds/acme/app"}
	for _, c := range []struct{ name, from, to, want string }{
		{"unknown flag", "--min-cache-hit 50", "--min-cache 50", "flag provided but not defined: -min-cache"},
		{"bad value", "--min-cache-hit 50", "--min-cache-hit lots", "min-cache-hit"},
		{"dotenv report", "dotenv: build.env", "dotenv: out.env", `artifacts:reports:dotenv is "out.env"`},
		{"unknown output", "$CACHE_HIT%", "$CACHE_HITS%", "$CACHE_HITS is neither"},
		{"misspelt job key", "  script:\n    # Exit", "  scirpt:\n    # Exit", "field scirpt not found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkMistake(t, src, "example", c.from, c.to, c.want, func(s []byte) error {
				p, err := ParsePipeline(s)
				if err == nil {
					err = p.CheckPipeline("build", "inline-cache", run.Predefined(), dotenvNames())
				}
				return err
			})
		})
	}
}

func TestRefSlug(t *testing.T) {
	for in, want := range map[string]string{"main": "main", "feature/Login_Form": "feature-login-form", "-x-": "x", strings.Repeat("a", 70): strings.Repeat("a", 63)} {
		if got := RefSlug(in); got != want {
			t.Errorf("RefSlug(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestREADMEIndex: examples/README.md lists every example with the test
// that runs it, and that test exists and runs that example.
func TestREADMEIndex(t *testing.T) {
	index := string(read(t, "README.md"))
	e2e, err := os.ReadFile(filepath.Join("..", "e2e", "examples_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| \\[`([^`]+)`\\]\\(([^)]+)\\) \\|.*`(TestExample\\w+)` \\|$")
	listed := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(index, -1) {
		if m[1] != m[2] {
			t.Errorf("README.md links %s to %s", m[1], m[2])
		}
		listed[m[1]] = m[3]
	}
	for rel, constant := range map[string]string{Basic: "Basic", PullRequest: "PullRequest", MultiPlatform: "MultiPlatform", Act: "Act", GitLab: "GitLab"} {
		test, ok := listed[rel]
		if !ok {
			t.Errorf("README.md does not list %s", rel)
			continue
		}
		_, body, ok := strings.Cut(string(e2e), "\nfunc "+test+"(t *testing.T) {")
		body, _, _ = strings.Cut(body, "\n}\n")
		if !ok || !strings.Contains(body, "examples."+constant) {
			t.Errorf("README.md says %s runs %s, but internal/e2e has no such test running examples.%s", test, rel, constant)
		}
	}
	if len(listed) != len(Workflows)+1 {
		t.Errorf("README.md lists %d examples, want %d", len(listed), len(Workflows)+1)
	}
}
