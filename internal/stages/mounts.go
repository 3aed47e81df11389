package stages

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// CacheMount is one RUN --mount=type=cache of a stage, with what BuildKit
// builds its cache directory's key from. BuildKit keys a cache directory
// by "<BUILDKIT_CACHE_MOUNT_NS>/<id>" and, when uid, gid or mode is set
// (and no source), by the cache record of an internal mkdir step those
// options make: a helper build that writes the same options on the same
// builder reaches the same directory.
type CacheMount struct {
	// Stage is the index of the stage whose RUN has the mount; Line is
	// the RUN's line.
	Stage int
	Line  int
	// ID is the id as BuildKit uses it: the id option, or the cleaned
	// target (as written, so a relative target gives a relative id).
	ID string
	// Target is where the RUN mounts it.
	Target string
	// Sharing is shared, private or locked.
	Sharing string
	// UID, GID and Mode are the options as written (nil when not given).
	UID, GID, Mode *uint64
	// Source is the subdirectory of the cache directory mounted.
	Source string
	// From is the stage or image the mount is based on.
	From string
	// Skip says why the key cannot be reproduced outside the build; ""
	// when it can.
	Skip string
}

// Options are the mount's key options in the --mount syntax, without
// type and target: id=…,sharing=…[,uid=…][,gid=…][,mode=…][,source=…].
func (m CacheMount) Options() string {
	var b strings.Builder
	fmt.Fprintf(&b, "id=%s,sharing=%s", m.ID, m.Sharing)
	if m.UID != nil {
		fmt.Fprintf(&b, ",uid=%d", *m.UID)
	}
	if m.GID != nil {
		fmt.Fprintf(&b, ",gid=%d", *m.GID)
	}
	if m.Mode != nil {
		fmt.Fprintf(&b, ",mode=%o", *m.Mode)
	}
	if m.Source != "" {
		fmt.Fprintf(&b, ",source=%s", m.Source)
	}
	return b.String()
}

// HasBase reports a mount whose key includes the internal mkdir step's
// cache record (uid, gid or mode without source): that step is built for
// the build's platform, so its key is per platform.
func (m CacheMount) HasBase() bool {
	return m.Source == "" && (m.UID != nil || m.GID != nil || m.Mode != nil)
}

// Key is the cache directory's key as BuildKit forms it (before the mkdir
// record's ID that HasBase adds), under namespace ns
// (BUILDKIT_CACHE_MOUNT_NS).
func (m CacheMount) Key(ns string) string {
	k := ns + "/" + m.ID
	if m.HasBase() {
		k += fmt.Sprintf(" (uid=%s gid=%s mode=%s)", optNum(m.UID, 10, "0"), optNum(m.GID, 10, "0"), optNum(m.Mode, 8, "755"))
	}
	if m.Source != "" {
		k += " source=" + m.Source
	}
	return k
}

func optNum(v *uint64, base int, def string) string {
	if v == nil {
		return def
	}
	return strconv.FormatUint(*v, base)
}

// CacheMounts are the cache mounts of the stages the build runs (the
// image's and builder stages), in Dockerfile order.
func (a Analysis) CacheMounts() []CacheMount {
	var out []CacheMount
	for _, s := range a.Stages {
		if s.Role == Image || s.Role == Builder {
			out = append(out, s.Mounts...)
		}
	}
	return out
}

// ToolImage is the external image stage i is built on (following FROM
// through earlier stages): the image a helper step for its mounts runs
// in. "" when the chain ends in scratch or a named context.
func (a Analysis) ToolImage(i int) string {
	for i >= 0 && i < len(a.Stages) {
		s := a.Stages[i]
		if s.BaseStage < 0 {
			if s.Base == "scratch" || s.Base == "" || strings.Contains(s.Base, "$") {
				return ""
			}
			return s.Base
		}
		i = s.BaseStage
	}
	return ""
}

// addMounts records the RUN's cache mounts. The parser leaves mount
// options unexpanded; they are expanded here with nothing known, so an
// option that uses a variable (known only inside the build, from the
// stage's ARG and ENV) marks the mount as one whose key cannot be
// reproduced.
func (st *Stage) addMounts(c *instructions.RunCommand, ln int) {
	vars := map[string]bool{}
	err := c.Expand(func(word string) (string, error) {
		if strings.Contains(word, "$") {
			vars[word] = true
		}
		return word, nil
	})
	if err != nil {
		// Only a variable makes an option BuildKit takes fail here
		// (uid=$UID): the build expands it first.
		st.Mounts = append(st.Mounts, CacheMount{Stage: st.Index, Line: ln, Skip: fmt.Sprintf("a --mount option uses a variable known only inside the build (%v)", err)})
		return
	}
	for _, m := range instructions.GetMounts(c) {
		if m.Type != instructions.MountTypeCache {
			continue
		}
		cm := CacheMount{Stage: st.Index, Line: ln, ID: m.CacheID, Target: m.Target, Sharing: string(m.CacheSharing), UID: m.UID, GID: m.GID, Mode: m.Mode, Source: m.Source, From: m.From}
		if cm.ID == "" {
			cm.ID = path.Clean(m.Target)
		}
		if cm.Sharing == "" {
			cm.Sharing = string(instructions.MountSharingShared)
		}
		var used []string
		for _, v := range []string{m.CacheID, m.Target, m.Source, m.From, string(m.CacheSharing)} {
			if vars[v] {
				used = append(used, v)
			}
		}
		switch {
		case len(used) > 0:
			cm.Skip = fmt.Sprintf("the cache mount's key uses %s, known only inside the build (the stage's ARG or ENV)", strings.Join(used, ", "))
		case m.From != "":
			cm.Skip = fmt.Sprintf("the cache mount is based on %q (from=), and BuildKit keys it by that stage's or image's cache record, which no other build can name", m.From)
		}
		st.Mounts = append(st.Mounts, cm)
	}
}
