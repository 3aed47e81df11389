package app

import (
	"fmt"
	"strings"

	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/plan"
	"github.com/inlinecache/action/internal/report"
)

// maskSecrets tells the GitHub runner to hide every secret value before
// anything else is printed, so not even an input error can show one: the
// secrets given by value, the GitHub token and the values of the variables
// secret-envs names.
func maskSecrets(sink report.Log, vals inputs.Values, env Env) {
	for _, v := range vals.SecretValues() {
		sink.Mask(v)
	}
	for _, item := range vals.List(inputs.SecretEnvs) {
		if _, name, ok := strings.Cut(item, "="); ok {
			if v := env.Getenv(name); v != "" {
				sink.Mask(v)
			}
		}
	}
}

// writeTempSecrets writes the secrets given by value for buildx to read.
// The files live in the run's private temp dir (mode 0700), are created
// 0600 and never overwritten; the caller removes the dir on every path out.
func writeTempSecrets(files Files, secrets []plan.TempSecret) error {
	for _, ts := range secrets {
		if err := files.WriteSecret(ts.Path, ts.Value); err != nil {
			return failedErr(fmt.Errorf("write secret %q for the build: %w", ts.ID, err))
		}
	}
	return nil
}
