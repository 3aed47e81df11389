package progress

import (
	"regexp"
	"strings"
)

// Kind is what a vertex is to the build, read from its name.
type Kind string

const (
	// KindStep is a Dockerfile instruction of this build that BuildKit
	// ran or took from the cache: RUN, COPY, ADD, WORKDIR (the
	// instructions that make a vertex).
	KindStep Kind = "step"
	// KindBase is base image work: FROM an image, load metadata, resolve
	// image config.
	KindBase Kind = "base"
	// KindCacheImport is "importing cache manifest from …".
	KindCacheImport Kind = "cache-import"
	// KindExport is the exporters: image, cache, push.
	KindExport Kind = "export"
	// KindInternal is [internal] work: the build definition, the context,
	// .dockerignore; and [auth].
	KindInternal Kind = "internal"
	// KindOther is anything else (a frontend's own vertices).
	KindOther Kind = "other"
)

// stepName matches the prefix dockerfile2llb gives a step's vertex:
// "[2/4] RUN …", "[builder 3/5] COPY …", "[linux/386 stage-1  2/10] …"
// (the index is padded with spaces).
var stepName = regexp.MustCompile(`^\[([^\]]*?)\s*(\d+)/(\d+)\] (.*)$`)

// parsedName is what a vertex name says.
type parsedName struct {
	kind        Kind
	platform    string
	stage       string
	index       int
	total       int
	instruction string // RUN, COPY…
	text        string // the instruction as written, e.g. "RUN make"
}

func parseName(name string) parsedName {
	if m := stepName.FindStringSubmatch(name); m != nil {
		p := parsedName{kind: KindStep, text: m[4], index: atoi(m[2]), total: atoi(m[3])}
		for _, f := range strings.Fields(m[1]) {
			if strings.Contains(f, "/") {
				p.platform = f
			} else {
				p.stage = f
			}
		}
		p.instruction, _, _ = strings.Cut(p.text, " ")
		p.instruction = strings.ToUpper(p.instruction)
		if p.instruction == "FROM" {
			p.kind = KindBase
		}
		return p
	}
	prefix, rest := "", name
	if strings.HasPrefix(name, "[") {
		if i := strings.IndexByte(name, ']'); i > 0 {
			prefix, rest = name[1:i], strings.TrimSpace(name[i+1:])
		}
	}
	p := parsedName{kind: KindOther, text: rest}
	fields := strings.Fields(prefix)
	if len(fields) > 0 && strings.Contains(fields[0], "/") {
		p.platform = fields[0]
	}
	switch {
	case strings.HasPrefix(rest, "load metadata for "), strings.HasPrefix(rest, "resolve image config for "):
		p.kind = KindBase
	case strings.HasPrefix(rest, "importing cache manifest from "):
		p.kind = KindCacheImport
	case strings.HasPrefix(rest, "exporting "), strings.HasPrefix(rest, "pushing "), strings.HasPrefix(rest, "writing image"), strings.HasPrefix(rest, "naming to "):
		p.kind = KindExport
	case prefix != "" && (strings.HasSuffix(prefix, "internal") || prefix == "auth"):
		p.kind = KindInternal
	}
	return p
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if n > 1<<20 {
			return n
		}
		n = n*10 + int(c-'0')
	}
	return n
}
