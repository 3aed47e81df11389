package main

import (
	"regexp"
	"strconv"
)

// stableRE is a stable release tag: vMAJOR.MINOR.PATCH, no pre-release or
// build suffix.
var stableRE = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)

// MajorTag is the major tag ("v1") the release of tag may move, or "" when
// it must stay: users of @v1 get only stable releases, and never an older
// one — a pre-release (v1.3.0-rc.1), or a patch of an older minor released
// after a newer one (v1.2.4 after v1.3.0), leaves v1 where it is.
func MajorTag(tag string, existing []string) string {
	v, ok := parseStable(tag)
	if !ok {
		return ""
	}
	for _, e := range existing {
		o, ok := parseStable(e)
		if ok && o[0] == v[0] && (o[1] > v[1] || o[1] == v[1] && o[2] > v[2]) {
			return ""
		}
	}
	return "v" + strconv.Itoa(v[0])
}

func parseStable(tag string) ([3]int, bool) {
	m := stableRE.FindStringSubmatch(tag)
	if m == nil {
		return [3]int{}, false
	}
	var v [3]int
	for i := range v {
		n, err := strconv.Atoi(m[i+1])
		if err != nil {
			return [3]int{}, false // beyond int: not a version we release
		}
		v[i] = n
	}
	return v, true
}
