//go:build linux

package registries

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/inlinecache/action/internal/e2e/harness"
	"github.com/inlinecache/action/internal/faultproxy"
	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/testenv"
	"github.com/inlinecache/action/internal/timings"
	"github.com/inlinecache/action/internal/verify"
)

// testRegistry is one registry of the matrix.
type testRegistry struct {
	name, addr   string
	referrersAPI bool
}

// matrixRegistries are the registries the core scenario runs on:
// distribution 2.8 (the environment's), distribution v3 and
// go-containerregistry's with the referrers API, both started once for
// the test binary (the environment stops v3, TestMain the other).
var matrixRegistries = sync.OnceValues(func() ([]testRegistry, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	v3, err := harness.Env.StartDistribution(ctx, "registry-v3", testenv.DistributionV3)
	if err != nil {
		return nil, err
	}
	ggcr := httptest.NewServer(registrytest.NewRegistry(registry.WithReferrersSupport(true)))
	closeGGCR = ggcr.Close
	return []testRegistry{
		{string(testenv.Distribution28), harness.Env.Registry, false},
		{string(testenv.DistributionV3), v3.Addr, false},
		{"go-containerregistry (referrers API)", strings.TrimPrefix(ggcr.URL, "http://"), true},
	}, nil
})

// closeGGCR stops go-containerregistry's registry, once started.
var closeGGCR = func() {}

// closeMatrixRegistries stops what matrixRegistries started outside the
// environment (TestMain, once the tests are done).
func closeMatrixRegistries() { closeGGCR() }

func registriesOf(t *testing.T) []testRegistry {
	t.Helper()
	regs, err := matrixRegistries()
	if err != nil {
		t.Fatalf("start the matrix registries: %v", err)
	}
	return regs
}

// registryOf is the matrix registry named name.
func registryOf(t *testing.T, name string) string {
	t.Helper()
	for _, r := range registriesOf(t) {
		if r.name == name {
			return r.addr
		}
	}
	t.Fatalf("no registry %s", name)
	return ""
}

// registryBuilders serialises starting builders: buildx create writes the
// environment's buildx state.
var registryBuilders sync.Mutex

// registryBuilder starts a buildkitd and a remote buildx builder named name,
// for a leg that prunes its cache while others build; the test's cleanup
// removes the builder, the environment stops the daemon.
func registryBuilder(t *testing.T, name string) string {
	t.Helper()
	builder, err := startRegistryBuilder(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = harness.Env.Buildx(context.Background(), "rm", "--force", builder) })
	return builder
}

func startRegistryBuilder(name string) (string, error) {
	registryBuilders.Lock()
	defer registryBuilders.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sock, err := harness.Env.StartBuildkitd(ctx, name, harness.Env.RegistryTOML())
	if err != nil {
		return "", err
	}
	builder := "inline-cache-" + name
	if out, err := harness.Env.Buildx(ctx, "create", "--name", builder, "--driver", "remote", "unix://"+sock); err != nil {
		return "", fmt.Errorf("buildx create: %w\n%s", err, out)
	}
	return builder, nil
}

// personasBuilder is the builder the personality tests share, apart from
// the environment's, whose cache other tests prune and count: these
// tests run beside them.
var personasBuilder = sync.OnceValues(func() (string, error) { return startRegistryBuilder("personas") })

func personas(t *testing.T) string {
	t.Helper()
	b, err := personasBuilder()
	if err != nil {
		t.Fatalf("the personalities' builder: %v", err)
	}
	return b
}

var (
	matrixMu   sync.Mutex
	matrixRows = map[string]string{} // "registry | scenario" → outcome
)

func outcome(t *testing.T, registry, scenario, result string) {
	t.Helper()
	matrixMu.Lock()
	defer matrixMu.Unlock()
	matrixRows[registry+" | "+scenario] = result
}

// logRegistryMatrix logs the matrix (go test -v) and writes it where
// INLINE_CACHE_REGISTRY_MATRIX names.
func logRegistryMatrix(t *testing.T) {
	matrixMu.Lock()
	defer matrixMu.Unlock()
	keys := make([]string, 0, len(matrixRows))
	for k := range matrixRows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("| registry | scenario | outcome |\n|---|---|---|\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "| %s | %s |\n", k, matrixRows[k])
	}
	t.Logf("registry matrix:\n%s", b.String())
	if p := os.Getenv("INLINE_CACHE_REGISTRY_MATRIX"); p != "" {
		_ = os.WriteFile(p, []byte(b.String()), 0o644)
	}
}

// The core scenario on each test registry, side by side, each on a
// builder of its own: build, push by digest, verify, tag, the step
// timings artifact and a registry stage cache; then, on the emptied
// builder, the next build reads its sources (the stage cache) and says
// the time saved.
func TestRegistryMatrix(t *testing.T) {
	t.Parallel() // each on builders of its own
	t.Cleanup(func() { logRegistryMatrix(t) })
	for i, reg := range registriesOf(t) {
		t.Run(reg.name, func(t *testing.T) {
			t.Parallel()
			builder := registryBuilder(t, fmt.Sprintf("matrix-%d", i))
			pruneOwn := func() {
				if out, err := harness.Env.Buildx(context.Background(), "prune", "-af", "--builder", builder); err != nil {
					t.Fatalf("buildx prune: %v\n%s", err, out)
				}
			}
			image := reg.addr + "/matrix/app"
			in := map[string]string{"context": project(t, "cacheprojects/stages"), "tags": image + ":main", "push": "true",
				"cache-stages": "registry", "builder": builder}
			first := action(t, in)
			checkPushed(t, first)
			d1 := first.Outputs["digest"]
			checks := map[string]bool{
				"pushed by digest":     strings.Contains(first.Log, "push-by-digest=true") && !strings.Contains(first.Log, " --tag "),
				"tagged after verify":  strings.Contains(first.Log, "tags: set to the verified "+d1) && registrytest.Head(t, image+":main") == d1,
				"step timings pushed":  strings.Contains(first.Log, "step timings: recorded beside "+image+"@"+d1),
				"stage cache verified": strings.Contains(resultBlock(first.Log), image+":main-buildcache: verified"),
			}
			src := timings.Read(context.Background(), verify.New(), image, image+"@"+d1)
			checks["step timings read back"] = src.Record != nil
			// Where the registry has the referrers API, the record is
			// listed there and no tag schema tag is written.
			fallback := registrytest.Head(t, image+":"+strings.Replace(d1, ":", "-", 1)) != ""
			if reg.referrersAPI {
				checks["step timings listed by the referrers API, no tag schema tag"] = !fallback && referrersAPIHas(t, image, d1, src.Artifact)
			} else {
				checks["step timings listed in the tag schema's index"] = fallback
			}

			pruneOwn()
			second := action(t, in)
			checkPushed(t, second)
			rep := parseReport(t, second)
			var sv struct {
				Savings *timings.Savings `json:"savings"`
			}
			_ = json.Unmarshal([]byte(second.Outputs["cache-report"]), &sv)
			checks["rebuild all cached from the registry"] = rep.Build.TotalSteps > 0 && rep.Build.CachedSteps == rep.Build.TotalSteps
			checks["rebuild says the time saved"] = sv.Savings != nil && sv.Savings.MatchedSteps > 0 && strings.Contains(second.Log, "time saved: ")
			checks["rebuild's stage cache verified"] = len(rep.StageCaches) == 1 && rep.StageCaches[0].Verified == "true"
			t.Logf("RESULT of the rebuild on %s:\n%s", reg.name, resultBlock(second.Log))

			// Stage images: each builder stage pushed by digest, verified
			// and tagged <tag>-stage-<stage>; the rebuild imports them.
			images := image + "/images"
			in["tags"], in["cache-stages"] = images+":main", "images"
			third := action(t, in)
			checkPushed(t, third)
			rep = parseReport(t, third)
			checks["stage image verified and tagged"] = len(rep.StageCaches) == 1 && rep.StageCaches[0].Verified == "true" &&
				rep.StageCaches[0].Ref == images+":main-stage-build" && registrytest.Head(t, images+":main-stage-build") != ""
			pruneOwn()
			fourth := action(t, in)
			checkPushed(t, fourth)
			rep = parseReport(t, fourth)
			checks["stage images: rebuild all cached, time saved"] = rep.Build.TotalSteps > 0 && rep.Build.CachedSteps == rep.Build.TotalSteps &&
				strings.Contains(fourth.Outputs["cache-report"], `"matchedSteps":`)
			for _, c := range sortedKeys(checks) {
				res := "passed"
				if !checks[c] {
					res = "FAILED"
					t.Errorf("%s: %s", reg.name, c)
				}
				outcome(t, reg.name, c, res)
			}
		})
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// referrersAPIHas reports whether the registry's referrers API lists
// artifact as a referrer of repo@digest.
func referrersAPIHas(t *testing.T, repo, digest, artifact string) bool {
	t.Helper()
	host, path, _ := strings.Cut(repo, "/")
	resp, err := http.Get("http://" + host + "/v2/" + path + "/referrers/" + digest)
	if err != nil {
		t.Error(err)
		return false
	}
	defer resp.Body.Close()
	var idx struct {
		Manifests []struct{ Digest, ArtifactType string }
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&idx) != nil {
		t.Logf("referrers of %s@%s: %s", repo, digest, resp.Status)
		return false
	}
	t.Logf("referrers of %s@%s: %+v", repo, digest, idx.Manifests)
	for _, m := range idx.Manifests {
		if m.Digest == artifact {
			return true
		}
	}
	return false
}

// personalityRun is one build through a personality, by the action or
// the CLI: its exit, log, digest and verdict.
type personalityRun struct {
	code         int
	log, digest  string
	verified     bool
	savedSeconds bool // the rebuild said the time saved
}

func buildThrough(t *testing.T, path, image, greeting string, extra ...string) personalityRun {
	t.Helper()
	ctx := project(t, "app")
	tags := []string{image + ":main"}
	tags = append(tags, extra...)
	if strings.HasPrefix(path, "action") {
		r := action(t, map[string]string{"context": ctx, "tags": strings.Join(tags, "\n"), "push": "true", "build-args": "GREETING=" + greeting, "builder": personas(t)})
		return personalityRun{code: r.Code, log: r.Log, digest: r.Outputs["digest"], verified: r.Outputs["cache-verified"] == "true",
			savedSeconds: strings.Contains(r.Outputs["cache-report"], `"matchedSteps":`)}
	}
	dotenv := filepath.Join(t.TempDir(), "out.env")
	args := []string{"build", "--push", "--dotenv", dotenv, "--build-arg", "GREETING=" + greeting, "--builder", personas(t)}
	for _, tg := range tags {
		args = append(args, "--tag", tg)
	}
	r := cli(t, append(args, ctx)...)
	env, _ := os.ReadFile(dotenv)
	pr := personalityRun{code: r.Code, log: r.Log, verified: strings.Contains(string(env), "CACHE_VERIFIED=true"),
		savedSeconds: strings.Contains(r.Log, "time saved: ")}
	if m := regexp.MustCompile(`(?m)^DIGEST=(sha256:[0-9a-f]{64})`).FindStringSubmatch(string(env)); m != nil {
		pr.digest = m[1]
	}
	return pr
}

// Every hosted personality, through the action on distribution 2.8 and
// through the CLI on distribution v3: a first build and a rebuild. Either
// the product works or it fails naming the refusal in the registry's
// words; no tag ever names an unverified image; the image stays pushed;
// the rebuild's step timings come from the record of the image its
// source names, or it says why not.
func TestRegistryPersonalities(t *testing.T) {
	t.Parallel() // each on builders of its own
	t.Cleanup(func() { logRegistryMatrix(t) })
	type leg struct {
		path, registry string
		mutable        bool // ECR with its default, mutable tags
	}
	legs := []leg{{"action", string(testenv.Distribution28), false}, {"cli", string(testenv.DistributionV3), false}}
	for _, pers := range faultproxy.Personalities {
		legs := legs
		if pers == faultproxy.ECR {
			// Mutable tags: the rebuild moves the tag, looked up
			// without Docker-Content-Digest.
			legs = append(legs, leg{"action-mutable", string(testenv.DistributionV3), true}, leg{"cli-mutable", string(testenv.Distribution28), true})
		}
		for _, leg := range legs {
			t.Run(string(pers)+"/"+leg.path, func(t *testing.T) {
				t.Parallel()
				reg := registryOf(t, leg.registry)
				p := faultproxy.Start(reg, false)
				p.MutableTags = leg.mutable
				p.As(pers)
				t.Cleanup(p.Close)
				image := p.Host + "/" + string(pers) + "/" + leg.path
				var extra []string
				if pers == faultproxy.DockerHub {
					// A second repository: BuildKit mounts blobs across.
					extra = []string{image + "-mirror:main"}
				}
				first := buildThrough(t, leg.path, image, "first", extra...)
				if first.code != 0 || !first.verified || registrytest.Head(t, reg+"/"+string(pers)+"/"+leg.path+":main") != first.digest {
					t.Fatalf("first build: exit %d, verified %v, digest %s\n%s", first.code, first.verified, first.digest, first.log)
				}
				if !strings.Contains(first.log, "pushed by digest alone for ") {
					t.Errorf("the untagged window is not said")
				}
				if alias := reg + "/gitlab/" + leg.path + ":" + strings.Replace(first.digest, ":", "-", 1) + ".referrers"; pers == faultproxy.GitLab && registrytest.Head(t, alias) == "" {
					t.Errorf("GitLab: the step timings are not listed under %s", alias)
				}
				// A changed build arg: a new image, so the tag must move;
				// the steps before the ARG come from the cache.
				second := buildThrough(t, leg.path, image, "second", extra...)
				tag := registrytest.Head(t, reg+"/"+string(pers)+"/"+leg.path+":main")
				name := string(pers) + " (" + leg.path + ", " + leg.registry + ")"
				switch {
				case pers == faultproxy.ECR && !leg.mutable:
					// Immutable tags: the verified image is pushed, the tag
					// stays, the failure says why and what works.
					ok := second.code == 1 && second.verified && tag == first.digest &&
						strings.Contains(second.log, "because its tags are immutable") && strings.Contains(second.log, "cannot be overwritten because the repository is immutable") &&
						strings.Contains(second.log, verify.ImmutableAdvice) && registrytest.Head(t, reg+"/"+string(pers)+"/"+leg.path+"@"+second.digest) == second.digest
					if !ok {
						t.Errorf("ECR rebuild: exit %d, verified %v, tag %s (first %s, second %s)\n%s", second.code, second.verified, tag, first.digest, second.digest, second.log)
					}
					outcome(t, name, "rebuild moving the tag", map[bool]string{true: "refused by the registry: exit 1, Tagging failed naming immutable tags in ECR's words, with the scheme that works; image pushed and verified, tag kept", false: "FAILED"}[ok])
				default:
					ok := second.code == 0 && second.verified && tag == second.digest
					if !ok {
						t.Errorf("rebuild: exit %d, verified %v, tag %s, digest %s\n%s", second.code, second.verified, tag, second.digest, second.log)
					}
					outcome(t, name, "rebuild moving the tag", map[bool]string{true: "works: verified, tag moved to the verified digest", false: "FAILED"}[ok])
				}
				if strings.Contains(second.log, "no step timings refer to") || !second.savedSeconds {
					t.Errorf("the rebuild does not say the time saved from the first build's record")
					outcome(t, name, "rebuild's time saved", "FAILED")
				} else {
					outcome(t, name, "rebuild's time saved", "said, from the first build's record")
				}
				outcome(t, name, "first build (push by digest, verify, tag, step timings)", "works")
			})
		}
	}
}

// Past Quay's expiry (here at once) the image pushed by digest is gone
// before it is verified: verification fails naming the manifest and the
// registry's answer, and no tag is set to it. ECR with immutable tags and
// a registry stage cache: the rebuild's re-export of <tag>-buildcache is
// refused, which is a warning and never read as this build's cache; the
// tag stays on the verified first image.
func TestRegistryPersonalityLimits(t *testing.T) {
	t.Parallel() // each on builders of its own
	t.Cleanup(func() { logRegistryMatrix(t) })
	t.Run("quay expired", func(t *testing.T) {
		t.Parallel()
		reg := registryOf(t, string(testenv.DistributionV3))
		p := faultproxy.Start(reg, false)
		p.Expiry = 0
		p.As(faultproxy.Quay)
		t.Cleanup(p.Close)
		r := action(t, map[string]string{"context": project(t, "app"), "tags": p.Host + "/quay/expired:main", "push": "true", "builder": personas(t)})
		ok := r.Code == 1 && r.Outputs["cache-verified"] != "true" && registrytest.Head(t, reg+"/quay/expired:main") == "" &&
			strings.Contains(r.Log, "MANIFEST_UNKNOWN") && strings.Contains(r.Log, "quay/expired@") && strings.Contains(r.Log, "tags: left where they were (verification did not pass)") &&
			strings.Contains(r.Log, "registries that expire or clean up untagged manifests (Quay after about an hour")
		if !ok {
			t.Errorf("exit %d, verified %q:\n%s", r.Code, r.Outputs["cache-verified"], r.Log)
		}
		outcome(t, "quay (action, distribution v3.1.2, expiry passed)", "build", map[bool]string{true: "fails: Inline cache not verified, naming the manifest and 404 MANIFEST_UNKNOWN; no tag set", false: "FAILED"}[ok])
	})
	t.Run("ecr immutable stage cache", func(t *testing.T) {
		t.Parallel()
		reg := registryOf(t, string(testenv.Distribution28))
		p := faultproxy.Start(reg, false).As(faultproxy.ECR)
		t.Cleanup(p.Close)
		ctx := project(t, "cacheprojects/stages")
		in := map[string]string{"context": ctx, "tags": p.Host + "/ecr/stages:main", "push": "true", "cache-stages": "registry", "builder": personas(t)}
		first := action(t, in)
		checkPushed(t, first)
		if err := os.WriteFile(filepath.Join(ctx, "src.txt"), []byte("source v2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		second := action(t, in)
		rep := parseReport(t, second)
		ok := second.Code == 1 && second.Outputs["cache-verified"] == "true" && len(rep.StageCaches) == 1 && rep.StageCaches[0].Verified != "true" &&
			strings.Contains(second.Log, "::warning::cache-stages registry: ") && strings.Contains(second.Log, "it is not this build's cache") &&
			strings.Contains(second.Log, "because its tags are immutable") && registrytest.Head(t, reg+"/ecr/stages:main") == first.Outputs["digest"]
		if !ok {
			t.Errorf("exit %d, stage caches %+v:\n%s", second.Code, rep.StageCaches, second.Log)
		}
		outcome(t, "ecr (action, distribution 2.8, cache-stages registry)", "rebuild after a source change", map[bool]string{
			true:  "exit 1: the tag refused as immutable (with the scheme that works); the refused <tag>-buildcache re-export a warning, not read as this build's cache; image pushed and verified, tag kept",
			false: "FAILED"}[ok])
	})
}
