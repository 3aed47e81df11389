package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/stages"
)

// mountsWithoutBuildx is why docker build without buildx cannot keep
// cache mounts.
const mountsWithoutBuildx = "keep cache mounts in the registry: the helper builds that restore and save them are buildx builds (a local output for their summaries, a metadata file naming the pushed snapshot, a push by digest that is tagged after it verified); docker build alone would load every snapshot into the engine's image store and push it with docker push, which inline-cache does not do"

// Step kinds of cache-mounts registry.
const (
	// RestoreMounts seeds the build's cache mounts from a snapshot image
	// before the first build.
	RestoreMounts Kind = "restore mounts"
	// SaveMounts pushes what is new in the cache mounts after the image
	// verified, verifies the snapshot and tags it.
	SaveMounts Kind = "save mounts"
)

const (
	// MountsTag is the suffix of the snapshot's tag after the first tag.
	MountsTag = "-mounts"
	// NonceArg makes each helper build run its step again: cache mount
	// contents are not part of BuildKit's cache key.
	NonceArg = "INLINE_CACHE_NONCE"
	// NamespaceArg is BuildKit's cache mount namespace build-arg.
	NamespaceArg = "BUILDKIT_CACHE_MOUNT_NS"
	// CompactAfter is the most layers a snapshot grows to before a save
	// writes it afresh as one layer.
	CompactAfter = 8
)

// Mount is one cache mount kept through the registry.
type Mount struct {
	stages.CacheMount
	// StageName names the stage whose RUN has it.
	StageName string
	// Tool is the image the helper steps run in: the stage's base image.
	Tool string
	// Key is BuildKit's key of its cache directory (stages.CacheMount.Key).
	Key string
	// Dir is its directory in the snapshot image: /<Dir>/….
	Dir string
}

// MountCache is what cache-mounts registry adds to a plan: where the
// snapshot lives and how its helper builds are spelled on the backend.
type MountCache struct {
	// Ref is the snapshot's tag, <first tag>-mounts; Sources are where a
	// restore looks, in order: Ref, then the branches' snapshots.
	Ref     string
	Sources []string
	Mounts  []Mount
	// Skipped are the mounts left out, each with a Skip saying why.
	Skipped []Mount
	// Save: the build pushes, so a verified build saves a snapshot.
	Save    bool
	MaxSize int64
	// NS is BUILDKIT_CACHE_MOUNT_NS as the build gets it.
	NS string
	// Platform is the build's one platform, given to helper builds whose
	// mounts have a base of their own (built per platform).
	Platform string
	// ByDigest pushes the snapshot by digest and tags it after it
	// verified; without it (the docker driver) the tag is pushed with it.
	ByDigest bool
	// Compress asks for zstd layers with OCI media types.
	Compress bool
	backend  Backend
	builder  string
	progress string
	tmpDir   string
}

// mountCache plans cache-mounts registry; what keeps a mount out is a
// note, and the build goes on without it.
func mountCache(s derived, b Backend, a *stages.Analysis, tmpDir string) (*MountCache, []string) {
	if s.Mounts.Mode != inputs.MountsRegistry || s.Evaluates() {
		return nil, nil
	}
	fix := inputs.CacheMountsInput + " registry: "
	tags := s.Tags
	if len(tags) == 0 {
		tags = s.pushedTags
	}
	if len(tags) == 0 {
		return nil, []string{fix + "no tag is given, so there is nowhere to keep the cache mounts; they stay on the builder"}
	}
	if a == nil {
		return nil, []string{fix + "the Dockerfile's stages could not be read (see the stage analysis note), so its cache mounts are not known; they stay on the builder"}
	}
	ref, err := suffixed(tags[0], MountsTag)
	if err != nil {
		return nil, []string{fix + err.Error() + "; the cache mounts stay on the builder"}
	}
	if clash(s, ref) {
		return nil, []string{fmt.Sprintf("%sthe snapshot tag %s is also one of the image's tags; the cache mounts stay on the builder", fix, ref)}
	}
	mc := newMountCache(s, b, ref, tags[0], tmpDir)
	notes := mc.addMounts(a, len(s.Platforms), fix)
	if len(mc.Mounts)+len(mc.Skipped) == 0 {
		return nil, append(notes, fix+"the stages the build runs have no cache mount to keep (RUN --mount=type=cache)")
	}
	mc.Save = s.pushes && s.Verify != inputs.VerifyOff
	switch {
	case !mc.Save:
		notes = append(notes, fix+"the image is not pushed and verified, so no snapshot is saved; the newest one is restored")
	case !b.Can(PushByDigest):
		notes = append(notes, fmt.Sprintf("%s%s cannot push by digest, so the snapshot's tag %s is pushed with it, before it is verified (%s to keep the guarantee)", fix, b.Where, ref, b.Remedy))
	}
	return mc, notes
}

// newMountCache is the snapshot's place and the helper builds' backend.
func newMountCache(s derived, b Backend, ref string, first inputs.Tag, tmpDir string) *MountCache {
	mc := &MountCache{Ref: ref, Sources: []string{ref}, MaxSize: s.Mounts.MaxSize, ByDigest: b.Can(PushByDigest),
		Compress: b.Can(PushByDigest), backend: b, builder: s.Builder, tmpDir: filepath.Join(tmpDir, "mounts"), progress: "plain"}
	if b.Can(RawJSON) {
		mc.progress = "rawjson"
	}
	for _, br := range branchRefs(s, first) {
		if r, err := suffixed(br, MountsTag); err == nil {
			mc.Sources = append(mc.Sources, r)
		}
	}
	for _, ba := range s.BuildArgs {
		if k, v, ok := strings.Cut(ba, "="); ok && k == NamespaceArg {
			mc.NS = v
		}
	}
	if len(s.Platforms) == 1 {
		mc.Platform = s.Platforms[0]
	}
	return mc
}

// addMounts keeps the analysis' cache mounts whose key can be reproduced
// (once per cache directory) and notes the others.
func (mc *MountCache) addMounts(a *stages.Analysis, platforms int, fix string) []string {
	var notes []string
	seen := map[string]bool{}
	for _, m := range a.CacheMounts() {
		st := a.Stages[m.Stage]
		where := fmt.Sprintf("stage %s, line %d", st.Label(), m.Line)
		switch {
		case m.Skip != "":
			notes = append(notes, fmt.Sprintf("%sa cache mount (%s) is not kept, its key cannot be reproduced: %s", fix, where, m.Skip))
			mc.Skipped = append(mc.Skipped, Mount{CacheMount: m, StageName: st.Label()})
			continue
		case m.HasBase() && platforms > 1:
			m.Skip = fmt.Sprintf("with uid, gid or mode BuildKit keeps one per platform, and the build has %d", platforms)
			notes = append(notes, fmt.Sprintf("%scache mount %s (%s) is not kept: %s", fix, m.ID, where, m.Skip))
			mc.Skipped = append(mc.Skipped, Mount{CacheMount: m, StageName: st.Label()})
			continue
		}
		key := m.Key(mc.NS)
		if seen[key] {
			continue // another RUN with the same cache directory
		}
		seen[key] = true
		sum := sha256.Sum256([]byte(key))
		mc.Mounts = append(mc.Mounts, Mount{CacheMount: m, StageName: st.Label(), Tool: a.ToolImage(m.Stage), Key: key, Dir: "m-" + hex.EncodeToString(sum[:8])})
	}
	return notes
}

// mountSteps puts the restore before every build and the save after the
// image's verification and tags.
func mountSteps(steps []Step, mc *MountCache) []Step {
	if mc == nil || len(mc.Mounts) == 0 {
		return steps
	}
	out := append([]Step{{Kind: RestoreMounts, Cache: mc.Ref}}, steps...)
	if mc.Save {
		out = append(out, Step{Kind: SaveMounts, Cache: mc.Ref})
	}
	return out
}

// Helper is one helper build: a generated Dockerfile run on the user's
// builder.
type Helper struct {
	Dockerfile string
	// File is where Dockerfile is written; its directory is the context.
	File string
	Step Step
	// OutDir is where a local output lands; MetadataFile the pushed
	// snapshot's metadata.
	OutDir       string
	MetadataFile string
}

// Paths inside a helper step's container.
const (
	helperCache = "/inline-cache/cache"
	helperSnap  = "/inline-cache/snap"
	helperOut   = "/inline-cache/out"
)

// duScript sets $b to the apparent size of $1 in bytes (GNU du), or its
// disk use where du has no -b (busybox).
const duScript = `if du -sb "$1" >/dev/null 2>&1; then b=$(du -sb "$1" | cut -f1); else b=$(( $(du -sk "$1" | cut -f1) * 1024 )); fi`

// restoreScript copies a snapshot's mount directory into the cache mount
// with cp -a (owner, mode, mtimes, symlinks kept: Go trims its cache by
// mtime), its entries only, so the mount's own root keeps what uid, gid
// and mode gave it; then counts what it restored.
const restoreScript = `set -e; mkdir -p ` + helperOut + `; cd ` + helperSnap + `; ` +
	`for f in * .[!.]* ..?*; do if [ -e "$f" ] || [ -L "$f" ]; then cp -a "$f" ` + helperCache + `/; fi; done; ` +
	`set -- .; ` + duScript + `; echo "$(find . ! -type d | wc -l) $b" > ` + helperOut + `/summary`

// collectScript lists what the cache mount holds beyond the snapshot it
// was restored from (bound at snap, if any): files that are not there or
// are newer, and every directory (so owners and modes survive); copies
// them keeping owners, modes and mtimes, with tar where it reads a file
// list (GNU tar, most busybox builds), else one cp -a per file; and sums
// up: all files, all bytes, new files, new bytes.
const collectScript = `set -e; O=` + helperOut + `; mkdir -p $O/data; cd ` + helperCache + `; ` +
	`find . -mindepth 1 | while IFS= read -r p; do ` +
	`if [ -d "$p" ] && [ ! -L "$p" ]; then echo "$p"; continue; fi; q="` + helperSnap + `/$p"; ` +
	`if { [ ! -e "$q" ] && [ ! -L "$q" ]; } || [ "$p" -nt "$q" ]; then echo "$p"; fi; done > $O/list; ` +
	`if tar --no-recursion -cf /dev/null -T /dev/null 2>/dev/null; then tar --no-recursion -cf - -T $O/list | tar -xpf - -C $O/data; ` +
	`else while IFS= read -r p; do if [ -d "$p" ] && [ ! -L "$p" ]; then mkdir -p "$O/data/$p"; chown "$(stat -c %u:%g "$p")" "$O/data/$p"; chmod "$(stat -c %a "$p")" "$O/data/$p"; ` +
	`else cp -a "$p" "$O/data/$p"; fi; done < $O/list; fi; ` +
	`set -- .; ` + duScript + `; all=$b; ` +
	`nb=$(find $O/data -type f -exec cat {} + | wc -c); ` +
	`echo "$(find . ! -type d | wc -l) $all $(find $O/data ! -type d | wc -l) $nb" > $O/summary`

// mountOption is the --mount of the cache directory in a helper step:
// the build's own options, so BuildKit finds the same directory.
func mountOption(m Mount, readonly bool) string {
	o := "--mount=type=cache," + m.Options() + ",target=" + helperCache
	if readonly {
		o += ",ro"
	}
	return o
}

// RestoreBuild spells the build that seeds mounts (each listed in the
// snapshot) from snapshot (a digest reference), one stage per mount,
// whose summaries go to a local output.
func (mc *MountCache) RestoreBuild(snapshot string, mounts []Mount, nonce string) Helper {
	var df strings.Builder
	for i, m := range mounts {
		fmt.Fprintf(&df, "FROM %s AS r%d\nARG %s\nRUN %s --mount=type=bind,from=%s,source=/%s,target=%s %s\n\n",
			m.Tool, i, NonceArg, mountOption(m, false), snapshot, m.Dir, helperSnap, restoreScript)
	}
	df.WriteString("FROM scratch\n")
	for i := range mounts {
		fmt.Fprintf(&df, "COPY --from=r%d %s/summary /r%d\n", i, helperOut, i)
	}
	return mc.helper("restore", df.String(), nonce, "", nil, "")
}

// CollectBuild spells the build that collects what is new in mounts
// since prev (a digest reference, "" for none: everything is new). With
// push it pushes the snapshot image: prev's layers plus one layer per
// mount in changed; without, it exports the collect steps' summaries.
// The collect steps are the same in both, so with the same nonce the
// push reuses the summary build's work.
func (mc *MountCache) CollectBuild(prev string, mounts []Mount, prevDirs []string, nonce string, push bool, changed []bool, label string) Helper {
	var df strings.Builder
	for i, m := range mounts {
		bind := ""
		if prev != "" && slices.Contains(prevDirs, m.Dir) {
			bind = fmt.Sprintf(" --mount=type=bind,from=%s,source=/%s,target=%s", prev, m.Dir, helperSnap)
		}
		fmt.Fprintf(&df, "FROM %s AS c%d\nARG %s\nRUN %s%s %s\n\n", m.Tool, i, NonceArg, mountOption(m, true), bind, collectScript)
	}
	if !push {
		df.WriteString("FROM scratch AS summary\n")
		for i := range mounts {
			fmt.Fprintf(&df, "COPY --from=c%d %s/summary /c%d\n", i, helperOut, i)
		}
		return mc.helper("collect", df.String(), nonce, "summary", nil, "")
	}
	base := "scratch"
	if prev != "" {
		base = prev
	}
	fmt.Fprintf(&df, "FROM %s AS snapshot\n", base)
	// --link makes each layer independent of the snapshot under it, so
	// the builder never unpacks that; the docker driver's engine may have
	// a Dockerfile frontend older than --link (1.4), and copies plainly:
	// still one new layer on top.
	link := ""
	if mc.ByDigest {
		link = "--link "
	}
	for i, m := range mounts {
		if i < len(changed) && changed[i] {
			fmt.Fprintf(&df, "COPY %s--from=c%d %s/data/ /%s/\n", link, i, helperOut, m.Dir)
		}
	}
	return mc.helper("push", df.String(), nonce, "snapshot", []string{"--label", label}, "")
}

// helper composes one helper build's command: the builder of the build,
// no secrets or cache imports of the user's, the nonce and the cache
// mount namespace; a local output, or the snapshot pushed.
func (mc *MountCache) helper(name, dockerfile, nonce, target string, extra []string, _ string) Helper {
	h := Helper{Dockerfile: dockerfile, File: filepath.Join(mc.tmpDir, name+".Dockerfile")}
	a := argList{args: append(slices.Clone(mc.backend.Command[1:]), "build")}
	a.one("--file", h.File)
	a.one("--build-arg", NonceArg+"="+nonce)
	if mc.NS != "" {
		a.one("--build-arg", NamespaceArg+"="+mc.NS)
	}
	a.one("--platform", mc.Platform)
	a.one("--target", target)
	a.one("--builder", mc.builder)
	a.args = append(a.args, extra...)
	switch {
	case name != "push":
		h.OutDir = filepath.Join(mc.tmpDir, name+"-out")
		a.one("--output", "type=local,dest="+h.OutDir)
	case mc.ByDigest:
		h.MetadataFile = filepath.Join(mc.tmpDir, "metadata.json")
		repo := strings.TrimSuffix(mc.Ref, ":"+mc.Ref[strings.LastIndex(mc.Ref, ":")+1:])
		out := "type=image,name=" + repo + ",push-by-digest=true,name-canonical=true,push=true"
		if mc.Compress {
			out += ",compression=zstd,oci-mediatypes=true"
		}
		a.one("--output", out)
		a.one("--metadata-file", h.MetadataFile)
		a.one("--provenance", "false")
	default:
		// The docker driver pushes by tag only: the tag moves before the
		// snapshot is verified.
		h.MetadataFile = filepath.Join(mc.tmpDir, "metadata.json")
		a.one("--tag", mc.Ref)
		a.flag("--push", true)
		a.one("--metadata-file", h.MetadataFile)
	}
	a.args = append(a.args, "--progress", mc.progress, mc.tmpDir)
	h.Step = Step{Kind: Build, Path: mc.backend.Command[0], Args: a.args, Env: slices.Clone(mc.backend.Env), Progress: mc.progress, Cache: mc.Ref}
	return h
}

// Dir is the helper builds' context directory, where their Dockerfiles go.
func (mc *MountCache) Dir() string { return mc.tmpDir }
