package app

import (
	"fmt"
	"path/filepath"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"

	"github.com/inlinecache/action/internal/ci"
	"github.com/inlinecache/action/internal/report"
)

// gitlabLogin stores CI_REGISTRY_USER/CI_REGISTRY_PASSWORD for CI_REGISTRY
// in the docker config (through docker/cli, so credential helpers and the
// file format are honoured) when it has no credentials for that registry
// yet, or only an earlier job's token of the same user, so that buildx can
// push and the verifier can read. The password is
// never printed or put on a command line.
func gitlabLogin(sink report.Log, env Env, job ci.GitLab) error {
	reg, user, pass := job.Registry, job.User, job.Password
	if !job.On || reg == "" || user == "" || pass == "" {
		return nil
	}
	dir := env.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home := env.Getenv("HOME")
		if home == "" {
			return fmt.Errorf("registry login to %s: neither DOCKER_CONFIG nor HOME is set", reg)
		}
		dir = filepath.Join(home, ".docker")
	}
	cf, err := config.Load(dir)
	if err != nil {
		return fmt.Errorf("registry login to %s: %w", reg, err)
	}
	have, err := cf.GetAuthConfig(reg)
	if err != nil {
		return fmt.Errorf("registry login to %s: read credentials: %w", reg, err)
	}
	// Credentials of another user (a deploy token, a login of your own)
	// stay. The job user's are replaced: CI_REGISTRY_PASSWORD is the job's
	// token, valid only while that job runs, so one a previous job left in
	// a shared config (shell executor) is stale.
	stale := have.Username == user && have.Password != pass && have.IdentityToken == "" && have.RegistryToken == ""
	if (have.Username != "" || have.Password != "" || have.IdentityToken != "" || have.RegistryToken != "") && !stale {
		sink.Infof("registry login: the docker config already has credentials for %s; CI_REGISTRY_USER is not used", reg)
		return nil
	}
	if err := cf.GetCredentialsStore(reg).Store(types.AuthConfig{ServerAddress: reg, Username: user, Password: pass}); err != nil {
		return fmt.Errorf("registry login to %s: store credentials: %w", reg, err)
	}
	if err := cf.Save(); err != nil {
		return fmt.Errorf("registry login to %s: save %s: %w", reg, cf.Filename, err)
	}
	if stale {
		sink.Infof("registry login: replaced an earlier job's token with this job's CI_REGISTRY_USER credentials for %s in %s", reg, cf.Filename)
		return nil
	}
	sink.Infof("registry login: stored CI_REGISTRY_USER's credentials for %s in %s", reg, cf.Filename)
	return nil
}
