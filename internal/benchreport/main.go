// Command benchreport runs the benchmarks behind `make bench` and prints
// them side by side. It reports; it asserts nothing about time.
//
//   - Whole processes, as users run them, on the real test environment
//     (internal/e2e, BenchmarkOverheadCachedBuild and BenchmarkVerifyProcess):
//     a fully cached build and push by bare `docker buildx build`, by
//     inline-cache (binary and action entry point) and, when BPA_DIR names a
//     checkout of docker/build-push-action with its dist, by build-push-action;
//     and `inline-cache verify` against `buildx imagetools inspect` at 1, 4
//     and 16 platforms.
//   - In process (internal/verify): the verifier library against imagetools.
//   - The real-world projects (internal/e2e/realworld, BenchmarkStageCaches):
//     a first build and a rebuild after a one-file change, each on an
//     emptied builder, for each way to keep builder stages cached
//     (cache-stages off, a hand-written mode=max registry cache, images,
//     registry), side by side; and an unchanged rebuild, which no mode may
//     make slower than inline-only.
//   - The real-world cache mounts scenario (BenchmarkCacheMounts): the
//     projects' Dockerfile.mounts, first build, empty builder, one-file
//     change, rebuild, for inline, cache-stages: registry, cache-mounts:
//     registry alone and with the stage cache, and a warm builder (the
//     limit); with the targets where cache-mounts exists.
//
// Usage: benchreport [-rounds N] [-benchtime D] [-stage-rounds N] [-only overhead|stages|mounts]
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

func main() {
	if err := realMain(); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func realMain() error {
	rounds := flag.Int("rounds", 7, "rounds of each whole-process contender")
	benchtime := flag.String("benchtime", "20x", "benchtime of the in-process benchmarks")
	flag.IntVar(&stageRounds, "stage-rounds", 3, "rounds of each real-world stage cache contender (medians are reported)")
	only := flag.String("only", "", "run one part only: overhead (the processes and the library), stages (the real-world stage cache scenario, about 20 minutes on 2 cores) or mounts (the real-world cache mounts scenario)")
	flag.Parse()
	switch *only {
	case "", "overhead":
	case "stages":
		return stagesPart()
	case "mounts":
		return mountsPart()
	default:
		return fmt.Errorf("-only %q is not overhead, stages or mounts", *only)
	}
	if stageRounds < 1 {
		return fmt.Errorf("-stage-rounds must be at least 1, got %d", stageRounds)
	}
	if *rounds < 1 {
		return fmt.Errorf("-rounds must be at least 1, got %d", *rounds)
	}

	procOut, err := goBench("./internal/e2e", "^Benchmark(OverheadCachedBuild|VerifyProcess)$", fmt.Sprintf("%dx", *rounds))
	if err != nil {
		return err
	}
	libOut, err := goBench("./internal/verify", "^Benchmark(Verify|Imagetools)$", *benchtime)
	if err != nil {
		return err
	}
	proc := parse(procOut)
	lib := parse(libOut)

	fmt.Println()
	if err := overheadTable(os.Stdout, proc["OverheadCachedBuild"], *rounds); err != nil {
		return err
	}
	fmt.Println()
	if err := verifyTable(os.Stdout, proc, *rounds); err != nil {
		return err
	}
	fmt.Println()
	if err := libraryTable(os.Stdout, lib); err != nil || *only == "overhead" {
		return err
	}
	if err := stagesPart(); err != nil {
		return err
	}
	return mountsPart()
}

// stagesPart runs the real-world stage cache scenario and prints its table.
func stagesPart() error {
	out, err := goBench("./internal/e2e/realworld", "^BenchmarkStageCaches$", fmt.Sprintf("%dx", stageRounds))
	if err != nil {
		return err
	}
	fmt.Println()
	return stagesTable(os.Stdout, parse(out))
}

// stageRounds is how many rounds each stage cache contender runs.
var stageRounds int

// stageOrder is the contenders' order in BenchmarkStageCaches.
var stageOrder = []string{"inline", "hand-mode-max", "images", "registry"}

// newTable is a right-aligned table on w, its header (cells each ended by
// a tab) written.
func newTable(w io.Writer, header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, header)
	return tw
}

// projectsOf are the projects that the scenario benchmark bench reported
// results for (names bench/project/contender), sorted.
func projectsOf(res map[string]map[string]float64, bench string) ([]string, error) {
	var projects []string
	for name := range res {
		rest, ok := strings.CutPrefix(name, bench+"/")
		p, _, found := strings.Cut(rest, "/")
		if ok && found && !slices.Contains(projects, p) {
			projects = append(projects, p)
		}
	}
	if len(projects) == 0 {
		return nil, fmt.Errorf("Benchmark%s reported no results", bench)
	}
	slices.Sort(projects)
	return projects, nil
}

// stagesTable prints the real-world scenario per project, contenders side
// by side, and says per project which rebuild was fastest.
func stagesTable(w io.Writer, res map[string]map[string]float64) error {
	projects, err := projectsOf(res, "StageCaches")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Real-world projects: first build, then a rebuild after a one-file change, each on an emptied builder (remote driver); medians of %d rounds:\n", stageRounds)
	for _, p := range projects {
		fmt.Fprintf(w, "\n%s\n", p)
		tw := newTable(w, "contender\tfirst build s\tfirst pushed MB\tunchanged rebuild s\tunchanged pulled MB\trebuild s\tsteps re-run (s)\tbuilder steps before the change re-run\trebuild pulled MB\trebuild pushed MB\t")
		best, bestName := 0.0, ""
		for _, c := range stageOrder {
			v, ok := res["StageCaches/"+p+"/"+c]
			if !ok {
				continue
			}
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f (%.1f)\t%.0f\t%.1f\t%.1f\t\n", c, v["first-s"], v["first-MB"], v["unchanged-s"], v["unchanged-pulled-MB"],
				v["rebuild-s"], v["ran-steps"], v["ran-s"], v["ran-before-change"], v["rebuild-pulled-MB"], v["rebuild-MB"])
			if bestName == "" || v["rebuild-s"] < best {
				best, bestName = v["rebuild-s"], c
			}
		}
		tw.Flush()
		fmt.Fprintf(w, "fastest rebuild: %s (%.1f s)\n", bestName, best)
		inline, ok := res["StageCaches/"+p+"/inline"]
		if !ok {
			continue
		}
		// The target is the project's own modes'; the hand-written
		// setup is there to compare.
		for _, c := range []string{"images", "registry"} {
			v, ok := res["StageCaches/"+p+"/"+c]
			if !ok {
				continue
			}
			for _, f := range []struct{ unit, what string }{{"unchanged-s", "unchanged rebuild"}, {"rebuild-s", "rebuild after the change"}} {
				verdict := "met"
				if v[f.unit] > inline[f.unit] {
					verdict = "NOT met"
				}
				fmt.Fprintf(w, "target: %s %s no slower than inline: %s (%.1f s vs %.1f s)\n", c, f.what, verdict, v[f.unit], inline[f.unit])
			}
		}
	}
	return nil
}

// goBench runs one package's benchmarks, streaming their output.
func goBench(pkg, pattern, benchtime string) ([]byte, error) {
	cmd := exec.Command("go", "test", "-count=1", "-timeout", "30m", "-run", "^$", "-bench", pattern, "-benchtime", benchtime, pkg)
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(os.Stdout, &out)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -bench %s: %w", pkg, err)
	}
	return out.Bytes(), nil
}

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// parse reads `go test -bench` lines into benchmark → unit → value.
func parse(out []byte) map[string]map[string]float64 {
	res := map[string]map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		f := strings.Fields(m[2])
		vals := map[string]float64{}
		for i := 0; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				vals[f[i+1]] = v
			}
		}
		res[m[1]] = vals
	}
	return res
}

// contenders lists the names that reported a median, in a fixed order.
func contenders(vals map[string]float64, order []string) []string {
	var out []string
	for _, c := range order {
		if _, ok := vals[c+"-median-ms"]; ok {
			out = append(out, c)
		}
	}
	return out
}

func overheadTable(w io.Writer, vals map[string]float64, rounds int) error {
	cs := contenders(vals, []string{"bare", "inline-cache", "inline-cache-action", "build-push-action"})
	if !slices.Contains(cs, "bare") || !slices.Contains(cs, "inline-cache") {
		return fmt.Errorf("BenchmarkOverheadCachedBuild reported no results")
	}
	bare := vals["bare-median-ms"]
	fmt.Fprintf(w, "Fully cached build and push of testdata/app, whole processes, %d rounds (ms):\n", rounds)
	tw := newTable(w, "contender\tmin\tmedian\tmax\tCPU median\toverhead (median − bare)\t")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%.0f\t%+.0f\t\n", c,
			vals[c+"-min-ms"], vals[c+"-median-ms"], vals[c+"-max-ms"], vals[c+"-cpu-median-ms"], vals[c+"-median-ms"]-bare)
	}
	tw.Flush()
	own := vals["inline-cache-action-median-ms"] - bare
	if !slices.Contains(cs, "inline-cache-action") {
		own = vals["inline-cache-median-ms"] - bare
	}
	if !slices.Contains(cs, "build-push-action") {
		fmt.Fprintf(w, "build-push-action not compared (set BPA_DIR to a checkout of docker/build-push-action with its dist/): own overhead over bare buildx %.0f ms\n", own)
		return nil
	}
	bpa := vals["build-push-action-median-ms"] - bare
	ratio := own / bpa
	verdict := "met"
	if ratio > 0.1 {
		verdict = "NOT met"
	}
	fmt.Fprintf(w, "target: own overhead ≤ 0.1× build-push-action's: %s (%.0f ms vs %.0f ms, %.2f×)\n", verdict, own, bpa, ratio)
	return nil
}

var platformsRE = regexp.MustCompile(`/platforms=(\d+)$`)

func verifyTable(w io.Writer, res map[string]map[string]float64, rounds int) error {
	type row struct {
		n    int
		vals map[string]float64
	}
	var rows []row
	for name, vals := range res {
		if m := platformsRE.FindStringSubmatch(name); m != nil && strings.HasPrefix(name, "VerifyProcess") {
			n, _ := strconv.Atoi(m[1])
			rows = append(rows, row{n, vals})
		}
	}
	if len(rows) == 0 {
		return fmt.Errorf("BenchmarkVerifyProcess reported no results")
	}
	slices.SortFunc(rows, func(a, b row) int { return a.n - b.n })
	fmt.Fprintf(w, "Read an N-platform index from the test registry, whole processes, %d rounds (ms, min/median/max):\n", rounds)
	tw := newTable(w, "platforms\tinline-cache verify\tbuildx imagetools inspect\tratio of medians\t")
	mmm := func(v map[string]float64, c string) string {
		return fmt.Sprintf("%.0f / %.0f / %.0f", v[c+"-min-ms"], v[c+"-median-ms"], v[c+"-max-ms"])
	}
	ratios := map[int]float64{}
	for _, r := range rows {
		ratios[r.n] = r.vals["imagetools-inspect-median-ms"] / r.vals["inline-cache-verify-median-ms"]
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.1f×\t\n", r.n, mmm(r.vals, "inline-cache-verify"), mmm(r.vals, "imagetools-inspect"), ratios[r.n])
	}
	tw.Flush()
	if r, ok := ratios[16]; ok {
		verdict := "met"
		if r < 5 {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "target: verify ≥5× faster than imagetools inspect at 16 platforms, whole process: %s (%.1f×)\n", verdict, r)
	}
	return nil
}

func libraryTable(w io.Writer, res map[string]map[string]float64) error {
	var widths []int
	for name := range res {
		if m := platformsRE.FindStringSubmatch(name); m != nil && strings.HasPrefix(name, "Verify/") {
			n, _ := strconv.Atoi(m[1])
			if _, ok := res[fmt.Sprintf("Imagetools/platforms=%d", n)]; ok {
				widths = append(widths, n)
			}
		}
	}
	if len(widths) == 0 {
		return fmt.Errorf("the in-process benchmarks reported no results")
	}
	slices.Sort(widths)
	fmt.Fprintln(w, "In process: the verifier library against an imagetools process, in-memory registry over loopback:")
	tw := newTable(w, "platforms\tverify library\tbuildx imagetools inspect\tratio\t")
	for _, n := range widths {
		v := res[fmt.Sprintf("Verify/platforms=%d", n)]["ns/op"]
		it := res[fmt.Sprintf("Imagetools/platforms=%d", n)]["ns/op"]
		fmt.Fprintf(tw, "%d\t%.1f ms\t%.1f ms\t%.1f×\t\n", n, v/1e6, it/1e6, it/v)
	}
	return tw.Flush()
}

// mountsPart runs the real-world cache mounts scenario and prints its
// table.
func mountsPart() error {
	out, err := goBench("./internal/e2e/realworld", "^BenchmarkCacheMounts$", fmt.Sprintf("%dx", stageRounds))
	if err != nil {
		return err
	}
	fmt.Println()
	return mountsTable(os.Stdout, parse(out), skipped(out))
}

// mountsOrder is the contenders' order in BenchmarkCacheMounts.
var mountsOrder = []string{"inline", "stages-registry", "mounts-registry", "mounts-and-stages", "warm-builder"}

var skipLine = regexp.MustCompile(`--- SKIP: Benchmark(\S+)`)

// skipped are the benchmarks that were skipped, by name.
func skipped(out []byte) map[string]bool {
	res := map[string]bool{}
	for _, m := range skipLine.FindAllStringSubmatch(string(out), -1) {
		res[m[1]] = true
	}
	return res
}

// mountsTable prints the cache mounts scenario per project, contenders
// side by side, and the targets where the cache-mounts
// contenders ran.
func mountsTable(w io.Writer, res map[string]map[string]float64, skip map[string]bool) error {
	projects, err := projectsOf(res, "CacheMounts")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Real-world projects with cache mounts (Dockerfile.mounts): first build, then a rebuild after a one-file change on an emptied builder (kept for warm-builder); medians of %d rounds:\n", stageRounds)
	for _, p := range projects {
		fmt.Fprintf(w, "\n%s\n", p)
		tw := newTable(w, "contender\tfirst build s\trebuild s\tsteps re-run (s)\tgo packages compiled\trestore s\tsave s\tnew cache MB\trebuild pulled MB\trebuild pushed MB\t")
		for _, c := range mountsOrder {
			name := "CacheMounts/" + p + "/" + c
			v, ok := res[name]
			if !ok {
				if skip[name] || strings.HasPrefix(c, "mounts") {
					fmt.Fprintf(tw, "%s\tnot run: this build has no cache-mounts input\t\t\t\t\t\t\t\t\t\n", c)
				}
				continue
			}
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.0f (%.1f)\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", c, v["first-s"], v["rebuild-s"], v["ran-steps"], v["ran-s"],
				v["compiled-pkgs"], v["restore-s"], v["save-s"], v["saved-new-MB"], v["rebuild-pulled-MB"], v["rebuild-MB"])
		}
		tw.Flush()
		mountsTargets(w, p, res)
	}
	return nil
}

// mountsTargets prints the targets for one project, only where
// the contenders they compare ran.
func mountsTargets(w io.Writer, p string, res map[string]map[string]float64) {
	get := func(c string) (map[string]float64, bool) { v, ok := res["CacheMounts/"+p+"/"+c]; return v, ok }
	m, ok := get("mounts-registry")
	if !ok {
		fmt.Fprintln(w, "targets: not measured (no cache-mounts contender ran)")
		return
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	if s, ok := get("stages-registry"); ok {
		fmt.Fprintf(w, "target: rebuild ≤ 0.5× cache-stages: registry's: %s (%.1f s vs %.1f s)\n", verdict(m["rebuild-s"] <= 0.5*s["rebuild-s"]), m["rebuild-s"], s["rebuild-s"])
	}
	if warm, ok := get("warm-builder"); ok {
		fmt.Fprintf(w, "target: rebuild ≤ 2× the warm builder's: %s (%.1f s vs %.1f s)\n", verdict(m["rebuild-s"] <= 2*warm["rebuild-s"]), m["rebuild-s"], warm["rebuild-s"])
	}
	fmt.Fprintf(w, "target: rebuild pushes ≤ 2× the new cache entries: %s (%.1f MB pushed, %.1f MB new)\n", verdict(m["rebuild-MB"] <= 2*m["saved-new-MB"]), m["rebuild-MB"], m["saved-new-MB"])
}
