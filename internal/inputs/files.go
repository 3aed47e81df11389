package inputs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// IsRemoteContext reports whether buildx reads the context itself (a git
// repository or URL, or a tarball on stdin) rather than from local disk.
func IsRemoteContext(ctx string) bool {
	if ctx == "-" {
		return true
	}
	for _, p := range []string{"http://", "https://", "git://", "git@", "ssh://", "github.com/"} {
		if strings.HasPrefix(ctx, p) {
			return true
		}
	}
	return false
}

// CheckFiles makes sure a local context is a readable directory and the
// Dockerfile exists, so that a typo fails in a second with the input's name
// instead of minutes later inside buildx. Relative paths are taken from dir,
// as buildx takes them from its working directory.
func CheckFiles(s Settings, dir string) error {
	if IsRemoteContext(s.Context) {
		return nil
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	ctx := abs(s.Context)
	fi, err := os.Stat(ctx)
	if err != nil {
		return &Error{Input: Context, Msg: fmt.Sprintf("cannot read build context %q: %v", s.Context, unwrapPath(err))}
	}
	if !fi.IsDir() {
		return &Error{Input: Context, Msg: fmt.Sprintf("build context %q is not a directory", s.Context)}
	}
	f, err := os.Open(ctx)
	if err == nil {
		_, err = f.Readdirnames(1)
		f.Close()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return &Error{Input: Context, Msg: fmt.Sprintf("cannot read build context %q: %v", s.Context, unwrapPath(err))}
	}

	input, file := File, s.File
	switch file {
	case "-":
		return nil
	case "":
		input, file = Context, filepath.Join(s.Context, "Dockerfile")
	}
	fi, err = os.Stat(abs(file))
	switch {
	case err != nil:
		return &Error{Input: input, Msg: fmt.Sprintf("cannot read Dockerfile %q: %v", file, unwrapPath(err))}
	case fi.IsDir():
		return &Error{Input: input, Msg: fmt.Sprintf("Dockerfile %q is a directory", file)}
	}
	return nil
}

// unwrapPath drops the "stat <path>:" prefix the message already carries.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
