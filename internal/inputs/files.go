package inputs

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
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

// Disk is where the settings' paths are read: FS is the file system from
// its root, and relative paths are taken from Dir, as buildx takes them from
// its working directory.
type Disk struct {
	FS  fs.FS
	Dir string
}

// OSDisk is the real disk, relative paths from dir.
func OSDisk(dir string) Disk { return Disk{FS: os.DirFS("/"), Dir: dir} }

// name is p as a path of d.FS.
func (d Disk) name(p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(d.Dir, p)
	}
	if p = strings.TrimPrefix(filepath.ToSlash(filepath.Clean(p)), "/"); p == "" {
		return "."
	}
	return p
}

// ReadFile reads a file the user named.
func (d Disk) ReadFile(p string) ([]byte, error) { return fs.ReadFile(d.FS, d.name(p)) }

// Checked is what Preflight read from the disk, kept so that nothing reads
// it twice.
type Checked struct {
	// CA is the registry-ca pool (nil: the system roots).
	CA *x509.CertPool
	// Dockerfile is the local Dockerfile's content (nil when buildx reads
	// it from stdin or a remote context: see Settings.Dockerfile).
	Dockerfile []byte
}

// Preflight runs every check of the settings that reads the disk, in one
// step before anything runs: the context and Dockerfile, the secret files,
// and the registry-ca files. It returns the registry-ca pool and the
// Dockerfile it read. Every problem is an *Error naming its input.
func Preflight(s Settings, d Disk) (Checked, error) {
	var (
		out  Checked
		errs []error
	)
	if s.Context != "" {
		var err error
		out.Dockerfile, err = checkFiles(s, d)
		errs = append(errs, err)
	}
	errs = append(errs, checkSecretFiles(s, d), checkProgressFile(s, d))
	pool, err := ReadRegistryCA(s, d)
	out.CA = pool
	return out, errors.Join(append(errs, err)...)
}

// checkFiles makes sure a local context is a readable directory and the
// Dockerfile can be read, so that a typo fails in a second with the input's
// name instead of minutes later inside buildx. It returns the Dockerfile's
// content (nil when it is not on the local disk).
func checkFiles(s Settings, d Disk) ([]byte, error) {
	if IsRemoteContext(s.Context) {
		return nil, nil
	}
	fi, err := fs.Stat(d.FS, d.name(s.Context))
	if err != nil {
		return nil, &Error{Input: Context, Msg: fmt.Sprintf("cannot read build context %q: %v", s.Context, unwrapPath(err))}
	}
	if !fi.IsDir() {
		return nil, &Error{Input: Context, Msg: fmt.Sprintf("build context %q is not a directory", s.Context)}
	}
	f, err := d.FS.Open(d.name(s.Context))
	if err == nil {
		if dir, ok := f.(fs.ReadDirFile); ok {
			_, err = dir.ReadDir(1)
		}
		f.Close()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, &Error{Input: Context, Msg: fmt.Sprintf("cannot read build context %q: %v", s.Context, unwrapPath(err))}
	}

	file, input := s.Dockerfile()
	if file == "" {
		return nil, nil
	}
	fi, err = fs.Stat(d.FS, d.name(file))
	if err == nil && fi.IsDir() {
		return nil, &Error{Input: input, Msg: fmt.Sprintf("Dockerfile %q is a directory", file)}
	}
	var dt []byte
	if err == nil {
		dt, err = d.ReadFile(file)
	}
	if err != nil {
		return nil, &Error{Input: input, Msg: fmt.Sprintf("cannot read Dockerfile %q: %v", file, unwrapPath(err))}
	}
	return dt, nil
}

// Dockerfile is the path of the Dockerfile on the local disk, as buildx
// reads it, and the input that names it; "" when buildx reads it from stdin
// or a remote context.
func (s Settings) Dockerfile() (path, input string) {
	switch {
	case s.File == "-" || IsRemoteContext(s.Context):
		return "", ""
	case s.File == "":
		return filepath.Join(s.Context, "Dockerfile"), Context
	}
	return s.File, File
}

// checkSecretFiles makes sure every secret file can be read, so a typo
// fails before the build with the input's name.
func checkSecretFiles(s Settings, d Disk) error {
	for _, f := range s.SecretFiles {
		fh, err := d.FS.Open(d.name(f.Path))
		if err != nil {
			return &Error{Input: SecretFiles, Msg: fmt.Sprintf("secret %q: cannot read %q: %v", f.ID, f.Path, unwrapPath(err))}
		}
		fi, err := fh.Stat()
		fh.Close()
		if err == nil && fi.IsDir() {
			return &Error{Input: SecretFiles, Msg: fmt.Sprintf("secret %q: %q is a directory", f.ID, f.Path)}
		}
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

// checkProgressFile makes sure the progress file's directory exists, so
// that a typo fails before the build rather than leaving no artifact.
func checkProgressFile(s Settings, d Disk) error {
	if s.ProgressFile == "" {
		return nil
	}
	if fi, err := fs.Stat(d.FS, d.name(filepath.Dir(s.ProgressFile))); err != nil || !fi.IsDir() {
		return &Error{Input: ProgressFile, Msg: fmt.Sprintf("the directory of %q does not exist", s.ProgressFile)}
	}
	if fi, err := fs.Stat(d.FS, d.name(s.ProgressFile)); err == nil && fi.IsDir() {
		return &Error{Input: ProgressFile, Msg: fmt.Sprintf("%q is a directory", s.ProgressFile)}
	}
	return nil
}
