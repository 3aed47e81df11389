package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/report"
	"github.com/inlinecache/action/internal/verify"
)

// imageResult is the machine-readable verdict on one REF (verify --json
// lists them; inspect --json prints one). Field names are a stable schema.
type imageResult struct {
	Ref      string `json:"ref"`
	Verified bool   `json:"verified"`
	// Error says why the image could not be read at all.
	Error  string         `json:"error,omitempty"`
	Report *verify.Report `json:"report,omitempty"`
}

// verifyOutput is what verify --json prints.
type verifyOutput struct {
	Verified bool          `json:"verified"`
	Images   []imageResult `json:"images"`
}

// refCommand parses the flags and REFs of verify and inspect; usage errors
// name the input that is wrong.
func refCommand(env Env, cmd, summary string, args []string) (s inputs.Settings, v *verify.Verifier, refs []string, asJSON bool, err error) {
	// Usage errors go to stderr, with the flag package's own: stdout is
	// for the table or the --json document only.
	sink := report.ForEnv(env.Getenv, env.Stderr)
	names := []string{inputs.VerifyInput, inputs.VerifyTimeout, inputs.InsecureRegistries, inputs.RegistryCA}
	if cmd == "inspect" {
		names = names[1:]
	}
	fs := flag.NewFlagSet("inline-cache "+cmd, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	j := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: inline-cache %s\n  --json\n      print JSON instead of a table\n", summary)
		inputs.Usage(fs.Output(), specsOf(names))
	}
	vals, refs, err := readInputs(env, fs, args, names...)
	if err != nil {
		return s, nil, nil, false, reportInputErr(sink, err)
	}
	s, err = vals.Settings()
	switch {
	case err != nil:
	case len(refs) == 0:
		err = &inputs.Error{Input: "REF", Msg: "no image reference given"}
	case cmd == "inspect" && len(refs) > 1:
		err = &inputs.Error{Input: "REF", Msg: fmt.Sprintf("inspect takes one image reference, got %d", len(refs))}
	}
	v, caErr := newVerifier(s, env)
	if caErr != nil {
		v = verify.New() // only to check the REFs below
	}
	for _, r := range refs {
		if _, perr := v.ParseReference(r); perr != nil && err == nil {
			err = &inputs.Error{Input: "REF", Msg: fmt.Sprintf("%q is not a valid image reference: %v", r, perr)}
		}
	}
	if err = errors.Join(err, caErr); err != nil {
		return s, nil, nil, false, reportInputErr(sink, err)
	}
	return s, v, refs, *j, nil
}

func runVerify(ctx context.Context, args []string, env Env) error {
	s, v, refs, asJSON, err := refCommand(env, "verify", "verify [flags] REF...", args)
	if err != nil {
		return err
	}
	// With --json, stdout carries the JSON document alone: the verdict
	// message goes to stderr (GitHub reads workflow commands there too).
	msgs := env.Stdout
	if asJSON {
		msgs = env.Stderr
	}
	sink := report.ForEnv(env.Getenv, msgs)
	out := verifyOutput{Verified: true}
	failed := 0
	for _, ref := range refs {
		res := verifyOne(ctx, v, ref)
		if !res.Verified {
			failed++
			out.Verified = false
		}
		out.Images = append(out.Images, res)
		if !asJSON {
			writeVerifyText(env.Stdout, res)
		}
	}
	if asJSON {
		if err := writeJSON(env.Stdout, out); err != nil {
			return failedErr(err)
		}
	}
	if failed == 0 {
		return nil
	}
	msg := fmt.Sprintf("%d of %d images lack valid inline cache", failed, len(refs))
	if s.Verify != inputs.VerifyStrict {
		sink.Warning(msg + " (verify: " + string(s.Verify) + ")")
		return nil
	}
	sink.Error(msg)
	return failedErr(errReported)
}

func verifyOne(ctx context.Context, v *verify.Verifier, ref string) imageResult {
	rep, err := v.Verify(ctx, ref)
	if err != nil {
		return imageResult{Ref: ref, Error: err.Error()}
	}
	return imageResult{Ref: rep.Ref, Verified: rep.Verified(), Report: &rep}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // steps hold shell: keep > and & readable
	return enc.Encode(v)
}

// writeVerifyText prints one REF's verdict as a table, one row per platform.
func writeVerifyText(w io.Writer, res imageResult) {
	rep := res.Report
	if rep == nil {
		fmt.Fprintf(w, "%s: NOT VERIFIED\n  error: %s\n\n", res.Ref, res.Error)
		return
	}
	verdict := "VERIFIED"
	if !res.Verified {
		verdict = "NOT VERIFIED"
	}
	fmt.Fprintf(w, "%s: %s\n", rep.Ref, verdict)
	if rep.RegistryCache {
		fmt.Fprintf(w, "  %s\n\n", rep.Explanation)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  PLATFORM\tRECORDS\tLAYERS COVERED\tCACHED STEPS\tVERDICT")
	for _, p := range rep.Platforms {
		fmt.Fprintf(tw, "  %s\t%d\t%d/%d\t%s\t%s\n", p.Platform, p.Records, p.LayersCovered, p.LayersTotal, cachedSteps(p), platformVerdict(p))
	}
	tw.Flush()
	for _, f := range rep.Failures() {
		fmt.Fprintf(w, "  problem: %s\n", f)
	}
	fmt.Fprintln(w)
}

// cachedSteps is "cached/total" over the layer-making steps the history
// names, or "-" when the history does not line up with the layers.
func cachedSteps(p verify.Platform) string {
	named, cached := 0, 0
	for _, l := range p.Layers {
		if l.Step != "" {
			named++
			if l.Cached {
				cached++
			}
		}
	}
	if named == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", cached, named)
}

func platformVerdict(p verify.Platform) string {
	if p.Verified {
		return "verified"
	}
	return "NOT VERIFIED"
}

// step shortens a history created_by for a table: BuildKit's " # buildkit"
// marker and the shell wrapper say nothing the user wrote.
func step(s string) string {
	s = strings.TrimSuffix(s, " # buildkit")
	s = strings.Replace(s, "/bin/sh -c ", "", 1)
	// Count runes, not bytes: a cut inside a multi-byte character would
	// print invalid UTF-8 (steps often echo non-ASCII text).
	if r := []rune(s); len(r) > 72 {
		s = string(r[:69]) + "..."
	}
	return s
}
