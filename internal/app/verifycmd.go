package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/report"
	"github.com/inlinecache/action/internal/verify"
)

func runVerify(ctx context.Context, args []string, env Env) error {
	sink := report.ForEnv(env.Getenv, env.Stdout)
	names := []string{inputs.VerifyInput, inputs.InsecureRegistries, inputs.RegistryCA}
	fs := flag.NewFlagSet("inline-cache verify", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	asJSON := fs.Bool("json", false, "print the reports as JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: inline-cache verify [flags] REF...")
		fmt.Fprintln(fs.Output(), "  --json\n      print the reports as JSON")
		inputs.Usage(fs.Output(), specsOf(names))
	}
	vals, refs, err := readInputs(env, fs, args, names...)
	if err != nil {
		return reportInputErr(sink, err)
	}
	s, err := vals.Settings()
	if err == nil && len(refs) == 0 {
		err = &inputs.Error{Input: "REF", Msg: "no image reference given"}
	}
	for _, r := range refs {
		if _, perr := verify.New().ParseReference(r); perr != nil && err == nil {
			err = &inputs.Error{Input: "REF", Msg: fmt.Sprintf("%q is not a valid image reference: %v", r, perr)}
		}
	}
	v, caErr := newVerifier(s, env)
	if err = errors.Join(err, caErr); err != nil {
		return reportInputErr(sink, err)
	}
	var results []report.Result
	failed := 0
	for _, ref := range refs {
		rep, err := v.Verify(ctx, ref)
		res := report.Result{Verdict: report.Verified, Report: &rep}
		switch {
		case err != nil:
			res = report.Result{Verdict: report.NotVerified, Reason: err.Error()}
		case !rep.Verified():
			res.Verdict = report.NotVerified
			res.Reason = strings.Join(rep.Failures(), "; ")
		}
		if res.Verdict != report.Verified {
			failed++
		}
		results = append(results, res)
		if !*asJSON {
			fmt.Fprintln(env.Stdout, strings.TrimRight(res.Text(), "\n"))
		}
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
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
