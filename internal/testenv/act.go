//go:build linux

package testenv

import (
	"context"
	"path/filepath"
)

// ActVersion is the nektos/act the environment installs to run workflows
// with `uses: ./` locally, as users do.
const ActVersion = "v0.2.89"

// ensureAct returns act from the tool cache, installing it from the Go
// module proxy the first time. The caller holds the cache lock.
func ensureAct(ctx context.Context, cache string, logf Logf) (string, error) {
	dir := filepath.Join(cache, "act-"+ActVersion)
	bin := filepath.Join(dir, "act")
	if exists(bin) {
		return bin, nil
	}
	logf("building act %s from the Go module proxy (a few minutes, once)", ActVersion)
	if err := goInstall(ctx, dir, "act", ActVersion, []string{"CGO_ENABLED=0"}, "github.com/nektos/act@"+ActVersion); err != nil {
		return "", err
	}
	return bin, nil
}
