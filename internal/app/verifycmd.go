package app

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/report"
	"github.com/inlinecache/action/internal/verify"
)

// refCommand parses the flags and REFs of verify and inspect; usage errors
// name the input that is wrong.
func refCommand(env Env, cmd, summary string, args []string) (s settings, v *verify.Verifier, asJSON bool, err error) {
	// Usage errors go to stderr, with the flag package's own: stdout is
	// for the table or the --json document only.
	log := report.ForEnv(env.Getenv, env.Stderr)
	names := []string{inputs.VerifyInput, inputs.VerifyTimeout, inputs.InsecureRegistries, inputs.RegistryCA}
	if cmd == "inspect" {
		names = names[1:]
	}
	fs := flag.NewFlagSet("inline-cache "+cmd, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	j := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: inline-cache %s\n  --json\n      print JSON instead of a table\n", summary)
		inputs.Usage(fs.Output(), inputs.SpecsOf(names))
	}
	s, err = loadSettings(env, log, fs, args, names, false)
	var e *Error
	if errors.As(err, &e) {
		return s, nil, false, err // -h
	}
	switch refs := s.Args; {
	case len(refs) == 0:
		err = errors.Join(err, &inputs.Error{Input: "REF", Msg: "no image reference given"})
	case cmd == "inspect" && len(refs) > 1:
		err = errors.Join(err, &inputs.Error{Input: "REF", Msg: fmt.Sprintf("inspect takes one image reference, got %d", len(refs))})
	}
	v = newVerifier(s, env)
	for _, r := range s.Args {
		if _, perr := v.ParseReference(r); perr != nil {
			err = errors.Join(err, &inputs.Error{Input: "REF", Msg: fmt.Sprintf("%q is not a valid image reference: %v", r, perr)})
			break
		}
	}
	if err != nil {
		return s, nil, false, inputErr(log, err)
	}
	return s, v, *j, nil
}

// maxParallelRefs bounds how many images verify reads at once.
const maxParallelRefs = 8

func runVerify(ctx context.Context, args []string, env Env) error {
	s, v, asJSON, err := refCommand(env, "verify", "verify [flags] REF...", args)
	if err != nil {
		return err
	}
	refs := s.Args
	// With --json, stdout carries the JSON document alone: the verdict
	// message goes to stderr (GitHub reads workflow commands there too).
	msgs := env.Stdout
	if asJSON {
		msgs = env.Stderr
	}
	sink := report.ForEnv(env.Getenv, msgs)
	out := report.VerifyOutput{Verified: true}
	failed := 0
	// The images are read side by side (each bounded by verify-timeout)
	// and reported in the order given.
	results := make([]report.ImageResult, len(refs))
	var g errgroup.Group
	g.SetLimit(maxParallelRefs)
	for i, ref := range refs {
		g.Go(func() error {
			results[i] = verifyOne(ctx, v, ref)
			return nil // a failed read is part of its result
		})
	}
	_ = g.Wait()
	for _, res := range results {
		if !res.Verified {
			failed++
			out.Verified = false
		}
		out.Images = append(out.Images, res)
		if !asJSON {
			report.WriteVerifyText(env.Stdout, res)
		}
	}
	if asJSON {
		if err := report.WriteJSON(env.Stdout, out); err != nil {
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
	return titled(sink, ExitFailed, "", errors.New(msg))
}

func verifyOne(ctx context.Context, v *verify.Verifier, ref string) report.ImageResult {
	rep, err := v.Verify(ctx, ref)
	if err != nil {
		return report.ImageResult{Ref: ref, Error: err.Error()}
	}
	return report.ImageResult{Ref: rep.Ref, Verified: rep.Verified(), Report: &rep}
}
