// Command benchreport runs the verify benchmarks (make bench) and prints
// inline-cache's registry read side by side with buildx imagetools inspect,
// with the ratio. It reports; it asserts nothing about time.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"text/tabwriter"
)

var line = regexp.MustCompile(`^Benchmark(Verify|Imagetools)/platforms=(\d+)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op`)

func main() {
	benchtime := "20x"
	if len(os.Args) > 1 {
		benchtime = os.Args[1]
	}
	cmd := exec.Command("go", "test", "-count=1", "-run", "^$", "-bench", "^Benchmark(Verify|Imagetools)$", "-benchtime", benchtime, "./internal/verify")
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(os.Stdout, &out)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport: go test -bench:", err)
		os.Exit(1)
	}
	ns := map[string]map[int]float64{"Verify": {}, "Imagetools": {}}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if m := line.FindStringSubmatch(sc.Text()); m != nil {
			n, _ := strconv.Atoi(m[2])
			v, _ := strconv.ParseFloat(m[3], 64)
			ns[m[1]][n] = v
		}
	}
	var widths []int
	for n := range ns["Verify"] {
		if _, ok := ns["Imagetools"][n]; ok {
			widths = append(widths, n)
		}
	}
	if len(widths) == 0 {
		fmt.Fprintln(os.Stderr, "benchreport: no benchmark results found")
		os.Exit(1)
	}
	sort.Ints(widths)
	fmt.Println("\nRead an N-platform index (manifests + configs) from an in-memory registry over loopback HTTP:")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "platforms\tinline-cache verify\tbuildx imagetools inspect\tratio\t")
	for _, n := range widths {
		v, it := ns["Verify"][n], ns["Imagetools"][n]
		fmt.Fprintf(tw, "%d\t%.1f ms\t%.1f ms\t%.1f×\t\n", n, v/1e6, it/1e6, it/v)
	}
	tw.Flush()
	if v, ok := ns["Verify"][16]; ok {
		r := ns["Imagetools"][16] / v
		verdict := "met"
		if r < 5 {
			verdict = "NOT met"
		}
		fmt.Printf("target ≥5× faster at 16 platforms: %s (%.1f×)\n", verdict, r)
	}
}
