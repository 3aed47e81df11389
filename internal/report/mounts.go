package report

import (
	"fmt"
	"strings"
)

// MountCache is what became of one cache mount under cache-mounts
// registry: restored before the build, saved after it. Its failures are
// warnings, never a failed build.
type MountCache struct {
	// ID is the mount's id as BuildKit uses it (its target when not
	// given); Key the cache directory's whole key.
	ID     string `json:"id"`
	Key    string `json:"key"`
	Target string `json:"target"`
	Stage  string `json:"stage"`
	// Restored is what the restore put into the mount; nil when nothing
	// was restored.
	Restored *MountRestore `json:"restored,omitempty"`
	// Saved is what the save pushed; nil when nothing was saved.
	Saved *MountSave `json:"saved,omitempty"`
	// Status is one of: saved (a new layer pushed), unchanged (nothing
	// new, nothing pushed), restored (restored, not saved by this
	// build), skipped (left out, see Warning), failed (see Warning).
	Status string `json:"status"`
	// Warning says what went wrong or why the mount was left out.
	Warning string `json:"warning,omitempty"`
}

// MountRestore is a restore's figures. Seconds is the restore build's
// wall time, which every mount restored by it shares.
type MountRestore struct {
	From    string  `json:"from"`
	Files   int64   `json:"files"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	// SnapshotBytes is the size in the registry of the snapshot the
	// builder pulled (its compressed layers), shared by its mounts.
	SnapshotBytes int64 `json:"snapshotBytes"`
	// Used says whether a step that ran in the build had the mount; when
	// none did, the restore was cost only. nil when not known.
	Used *bool `json:"used,omitempty"`
}

// MountSave is a save's figures: the files and bytes new since the
// snapshot restored (what the new layer holds), the save's helper builds'
// wall time (shared by the mounts saved together), and the layers pushed.
type MountSave struct {
	Ref          string  `json:"ref"`
	Digest       string  `json:"digest,omitempty"`
	Files        int64   `json:"files"`
	Bytes        int64   `json:"bytes"`
	TotalFiles   int64   `json:"totalFiles"`
	TotalBytes   int64   `json:"totalBytes"`
	Seconds      float64 `json:"seconds"`
	LayersPushed int     `json:"layersPushed"`
	// PushedBytes is the size of the layer pushed, as the registry has
	// it (compressed).
	PushedBytes int64 `json:"pushedBytes"`
	// Compacted: the snapshot was written afresh as one layer.
	Compacted bool `json:"compacted,omitempty"`
}

// Line is the mount's line in the log.
func (m MountCache) Line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cache mount %s (stage %s): %s", m.ID, m.Stage, m.Status)
	if r := m.Restored; r != nil {
		fmt.Fprintf(&b, "; restored %d files, %s in %.1fs from %s", r.Files, bytesText(r.Bytes), r.Seconds, r.From)
		if r.Used != nil && !*r.Used {
			fmt.Fprintf(&b, " (no step that ran used it, so the restore was cost only; %s: off avoids it on builds like this)", "cache-mounts")
		}
	}
	if s := m.Saved; s != nil && s.LayersPushed == 0 {
		fmt.Fprintf(&b, "; nothing new to save (%d files, %s; checked in %.1fs)", s.TotalFiles, bytesText(s.TotalBytes), s.Seconds)
	} else if s != nil {
		fmt.Fprintf(&b, "; saved %d new files, %s (layers pushed: %d, %s) in %.1fs", s.Files, bytesText(s.Bytes), s.LayersPushed, bytesText(s.PushedBytes), s.Seconds)
		if s.Compacted {
			b.WriteString(", compacted")
		}
		if s.Digest != "" {
			fmt.Fprintf(&b, " as %s@%s", s.Ref, s.Digest)
		}
	}
	if m.Warning != "" {
		b.WriteString("\n  " + m.Warning)
	}
	return b.String()
}

func writeMountsText(b *strings.Builder, r Result) { writeLines(b, r.CacheMounts) }

func writeMountsMarkdown(b *strings.Builder, r Result) {
	writeTable(b, "Cache mounts", []string{"Mount", "Stage", "Status", "Restored", "Saved (new)", "Layers pushed"}, r.CacheMounts, func(m MountCache) []string {
		restored, saved, layers := "—", "—", "0"
		if x := m.Restored; x != nil {
			restored = fmt.Sprintf("%d files, %s in %.1fs", x.Files, bytesText(x.Bytes), x.Seconds)
		}
		if x := m.Saved; x != nil {
			saved = fmt.Sprintf("%d files, %s in %.1fs", x.Files, bytesText(x.Bytes), x.Seconds)
			layers = fmt.Sprint(x.LayersPushed)
		}
		status := m.Status
		if m.Warning != "" {
			status = ":warning: " + status + ": " + m.Warning
		}
		return []string{mdEscape(m.ID), mdEscape(m.Stage), mdEscape(status), restored, saved, layers}
	})
}
