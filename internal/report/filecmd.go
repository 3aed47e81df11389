package report

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// FileCommand appends name=value to a GitHub Actions environment file
// ($GITHUB_OUTPUT, $GITHUB_ENV) in the heredoc form. The delimiter is random
// per value, as @actions/core does, and a name or value containing it is
// refused: a fixed delimiter would let a value (a label, a build log line)
// close the heredoc and forge other outputs.
func FileCommand(path, name, value string) error {
	if path == "" {
		return fmt.Errorf("cannot set %q: the file command path is not set", name)
	}
	entry, err := formatFileCommand(name, value, randomDelimiter())
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("cannot set %q: %w", name, err)
	}
	if _, err := f.WriteString(entry); err != nil {
		f.Close()
		return fmt.Errorf("cannot set %q: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot set %q: %w", name, err)
	}
	return nil
}

func formatFileCommand(name, value, delim string) (string, error) {
	if name == "" || strings.ContainsAny(name, "\r\n=") || strings.Contains(name, "<<") {
		return "", fmt.Errorf("invalid output name %q", name)
	}
	if strings.Contains(name, delim) || strings.Contains(value, delim) {
		return "", fmt.Errorf("output %q contains the file command delimiter; refusing to write it", name)
	}
	return name + "<<" + delim + "\n" + value + "\n" + delim + "\n", nil
}

func randomDelimiter() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux, macOS or Windows
	return "ghadelimiter_" + hex.EncodeToString(b)
}

// ReadFileCommands parses the environment file at path; a file that does
// not exist holds no commands.
func ReadFileCommands(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseFileCommands(f)
}

// ParseFileCommands reads an environment file the way the Actions runner
// does: "name=value" lines, or "name<<DELIM" up to a line that is DELIM.
// The tests use it to check what a step's outputs will be.
func ParseFileCommands(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, delim, ok := strings.Cut(line, "<<"); ok {
			var val []string
			closed := false
			for sc.Scan() {
				if sc.Text() == delim {
					closed = true
					break
				}
				val = append(val, sc.Text())
			}
			if !closed {
				return out, fmt.Errorf("value of %q is not terminated by its delimiter", name)
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		if name, val, ok := strings.Cut(line, "="); ok {
			out[name] = val
		} else if line != "" {
			return out, fmt.Errorf("line %q is neither name=value nor name<<delimiter", line)
		}
	}
	return out, sc.Err()
}
