package stages

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/version"
)

// parserVersion is the Dockerfile syntax this package's parser reads
// (BuildKit's frontend/dockerfile/version: "1.28.0" or "1.28.0-dev").
var parserMajor, parserMinor = versionOf(version.Version())

// syntaxNote says when the # syntax= directive asks for a frontend that
// may read the Dockerfile differently from this parser: a newer
// docker/dockerfile release or another frontend. The analysis goes on.
func syntaxNote(syntax string) string {
	if syntax == "" {
		return ""
	}
	ref, _, _ := strings.Cut(syntax, "@")
	repo, tag, hasTag := strings.Cut(ref, ":")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		repo, tag, hasTag = ref[:i], ref[i+1:], true
	}
	repo = strings.TrimPrefix(strings.TrimPrefix(repo, "docker.io/"), "index.docker.io/")
	if repo != "docker/dockerfile" {
		return fmt.Sprintf("# syntax=%s: the stage analysis reads the Dockerfile as Dockerfile %d.%d does; this frontend may read it differently", syntax, parserMajor, parserMinor)
	}
	if !hasTag {
		return ""
	}
	tag = strings.TrimSuffix(tag, "-labs")
	major, minor := versionOf(tag)
	if major > parserMajor || (major == parserMajor && minor > parserMinor) {
		return fmt.Sprintf("# syntax=%s is newer than the Dockerfile %d.%d parser of the stage analysis; instructions it added may be read differently", syntax, parserMajor, parserMinor)
	}
	return ""
}

// versionOf reads major.minor from "1", "1.7", "1.7.1" or "1.28.0-dev";
// a missing minor is 0 (docker/dockerfile:1 is "the latest 1.x", which this
// parser counts as its own).
func versionOf(v string) (int, int) {
	v, _, _ = strings.Cut(v, "-")
	parts := strings.Split(v, ".")
	major, err := strconv.Atoi(parts[0])
	if err != nil {
		return -1, -1
	}
	minor := 0
	if len(parts) > 1 {
		if minor, err = strconv.Atoi(parts[1]); err != nil {
			return -1, -1
		}
	}
	return major, minor
}
