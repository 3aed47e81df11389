package app

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/plan"
	"github.com/inlinecache/action/internal/report"
)

// maskSecrets tells the GitHub runner to hide every secret value before
// anything else is printed, so not even an input error can show one: the
// secrets given by value, the GitHub token and the values of the variables
// secret-envs names.
func maskSecrets(sink report.Sink, vals inputs.Values, env Env) {
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

// prepareDropIn completes the build-push-action inputs with what only the
// environment knows: the GitHub run ({{defaultContext}}, provenance
// builder-id, the token's host), and checks the secret files exist.
func prepareDropIn(s *inputs.Settings, env Env) error {
	return errors.Join(
		s.UseGitHub(inputs.GitHubFromEnv(env.Getenv)),
		inputs.CheckSecretFiles(*s, env.Dir),
	)
}

// writeTempSecrets writes the secrets given by value for buildx to read.
// The files live in the run's private temp dir (mode 0700), are created
// 0600 and never overwritten; the caller removes the dir on every path out.
func writeTempSecrets(secrets []plan.TempSecret) error {
	for _, ts := range secrets {
		f, err := os.OpenFile(ts.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("write secret %q for the build: %w", ts.ID, err)
		}
		_, err = f.WriteString(ts.Value)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write secret %q for the build: %w", ts.ID, err)
		}
	}
	return nil
}

// prepareRun does what must happen between planning and building: check
// the step's output files can be written (before minutes of building),
// log in to the GitLab registry, and write the secret files.
func prepareRun(sink report.Sink, env Env, secrets []plan.TempSecret) error {
	if err := report.Preflight(sink); err != nil {
		sink.ErrorTitle("Step outputs cannot be written", err.Error())
		return failedErr(errReported)
	}
	if err := gitlabLogin(sink, env); err != nil {
		sink.ErrorTitle("Registry login failed", err.Error())
		return failedErr(errReported)
	}
	if err := writeTempSecrets(secrets); err != nil {
		return failedErr(err)
	}
	return nil
}
