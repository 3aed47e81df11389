//go:build linux

package testenv

import (
	"fmt"
	"os"
	"path/filepath"
)

// Project copies the build context at src into a new directory below the
// environment's and adds the static busybox its Dockerfile copies in.
func (e *Env) Project(src string) (string, error) {
	dst, err := os.MkdirTemp(e.Dir, "project-")
	if err != nil {
		return "", err
	}
	if err := copyTree(src, dst); err != nil {
		return "", fmt.Errorf("copy project %s: %w", src, err)
	}
	b, err := os.ReadFile(e.Tools.Busybox)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dst, "busybox"), b, 0o755); err != nil {
		return "", err
	}
	return dst, nil
}
