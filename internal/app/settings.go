package app

import (
	"crypto/x509"
	"errors"
	"flag"

	"github.com/inlinecache/action/internal/ci"
	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/report"
)

// settings are a command's validated settings and what the checks that
// read the disk found.
type settings struct {
	inputs.Settings
	Job ci.Job
	// Args are the positional arguments that are not the build context.
	Args []string
	// CA is the registry-ca pool (nil: the system roots).
	CA *x509.CertPool
	// DockerfileText is the local Dockerfile as a build's preflight read
	// it (nil when there is none: see inputs.Settings.Dockerfile).
	DockerfileText []byte
}

// loadSettings reads a command's settings once (inputs.LoadSettings) from
// the environment, the arguments and the CI job, masking every secret in
// log before anything else is printed, even an input error. For a build,
// the checks that read the disk run in the same step (inputs.Preflight).
func loadSettings(env Env, log report.Log, fs *flag.FlagSet, args, names []string, build bool) (settings, error) {
	job, jobErr := ci.Detect(env.Getenv, env.disk().ReadFile)
	if !build {
		jobErr = nil // only a build's context depends on the event payload
	}
	s, pos, err := inputs.LoadSettings(inputs.Source{
		Getenv: env.Getenv, Flags: fs, Args: args, Inputs: names, ContextArg: build, Job: job,
	})
	for _, m := range s.Masks {
		log.Mask(m)
	}
	if errors.Is(err, flag.ErrHelp) {
		return settings{}, errHelp
	}
	out := settings{Settings: s, Job: job, Args: pos}
	if err != nil {
		return out, errors.Join(err, jobErr)
	}
	var diskErr error
	if build {
		var read inputs.Checked
		read, diskErr = inputs.Preflight(s, env.disk())
		out.CA, out.DockerfileText = read.CA, read.Dockerfile
	} else {
		out.CA, diskErr = inputs.ReadRegistryCA(s, env.disk())
	}
	return out, errors.Join(jobErr, diskErr)
}
