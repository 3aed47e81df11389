package app

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
)

// runInspect shows what an image's inline cache holds: per platform, each
// layer with the Dockerfile step that made it and whether the cache reaches
// it, and the shape of the records graph. It exits 0 whenever it could read
// the image, whatever the cache holds (verify is the command that judges),
// 1 when it could not, 2 on usage errors.
func runInspect(ctx context.Context, args []string, env Env) error {
	s, v, asJSON, err := refCommand(env, "inspect", "inspect [flags] REF", args)
	if err != nil {
		return err
	}
	res := verifyOne(ctx, v, s.Args[0])
	if asJSON {
		if err := writeJSON(env.Stdout, res); err != nil {
			return failedErr(err)
		}
	} else {
		writeInspectText(env.Stdout, res)
	}
	if res.Report == nil {
		return failedErr(fmt.Errorf("inspect %s: %s", res.Ref, res.Error))
	}
	return nil
}

func writeInspectText(w io.Writer, res imageResult) {
	rep := res.Report
	if rep == nil {
		fmt.Fprintf(w, "%s: cannot read: %s\n", res.Ref, res.Error)
		return
	}
	fmt.Fprintf(w, "image:      %s\nmedia type: %s\n", rep.Ref, rep.MediaType)
	if rep.RegistryCache {
		fmt.Fprintf(w, "kind:       registry cache (not an image)\n  %s\n", rep.Explanation)
		return
	}
	for _, p := range rep.Platforms {
		fmt.Fprintf(w, "\nplatform %s  %s\n", p.Platform, p.Digest)
		if p.Error != "" {
			fmt.Fprintf(w, "  no usable cache: %s\n", p.Error)
			continue
		}
		fmt.Fprintf(w, "  cache: %d records, %d with layers; %d of %d layers reachable (bottom %d in one piece)\n",
			p.Records, p.RecordsWithLayers, p.LayersCovered, p.LayersTotal, p.CoveredPrefix)
		if g := p.Graph; g != nil {
			fmt.Fprintf(w, "  graph: %d roots, max depth %d, %d chains, %d links\n", g.Roots, g.MaxDepth, g.Chains, g.Links)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  LAYER\tCACHED\tRESULTS\tSTEP")
		for _, l := range p.Layers {
			cached := "no"
			if l.Cached {
				cached = "yes"
			}
			st := step(l.Step)
			if st == "" {
				st = "(unknown)"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%d\t%s\n", l.Index, cached, l.Results, st)
		}
		tw.Flush()
		for _, n := range p.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		for _, pr := range p.Problems {
			fmt.Fprintf(w, "  problem: %s\n", pr)
		}
		verdict := "valid"
		if !p.Verified {
			verdict = "NOT valid"
		}
		if len(p.Problems) > 0 {
			// BuildKit's importer rejects the whole payload on any of these.
			verdict += ": BuildKit imports none of this cache, whatever the layers above say"
		}
		fmt.Fprintf(w, "  verdict: %s\n", verdict)
	}
	if len(rep.Platforms) == 0 {
		fmt.Fprintln(w, "no platform images")
	}
}
