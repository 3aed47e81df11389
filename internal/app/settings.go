package app

import (
	"errors"
	"flag"
	"fmt"

	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/report"
)

// loadSettings reads the build's settings once: flags and INPUT_*, the CI
// job's defaults, the positional context, {{defaultContext}}, validation
// and the checks that read the disk. Secrets are masked in log before
// anything else is printed, even an input error.
func loadSettings(env Env, fs *flag.FlagSet, args []string, log report.Log) (inputs.Settings, error) {
	vals, pos, err := readInputs(env, fs, args, buildInputs...)
	maskSecrets(log, vals, env)
	if err != nil {
		return inputs.Settings{}, err
	}
	defaults := gitlabDefaults(vals, env)
	s, err := vals.Settings()
	s.Defaults = defaults
	switch {
	case len(pos) > 1:
		err = errors.Join(err, &inputs.Error{Input: inputs.Context, Msg: fmt.Sprintf("one build context expected, got %d: %q", len(pos), pos)})
	case len(pos) == 1:
		s.Context = pos[0]
	}
	gh, ghErr := inputs.GitHubFromEnv(env.Getenv, env.files().ReadFile)
	err = errors.Join(err, ghErr, s.UseGitHub(gh), inputs.CheckSecretFiles(s, env.Dir))
	if s.Context != "" {
		err = errors.Join(err, inputs.CheckFiles(s, env.Dir))
	}
	return s, err
}
