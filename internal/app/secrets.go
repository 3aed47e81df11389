package app

import (
	"fmt"

	"github.com/inlinecache/action/internal/plan"
)

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
