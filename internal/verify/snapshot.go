package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// MountsLabel is the config label of a cache mount snapshot
// (cache-mounts): a JSON list of the mounts it holds (SnapshotMount).
const MountsLabel = "io.inlinecache.mounts"

// SnapshotMount is one cache mount a snapshot holds, under /<Dir>.
type SnapshotMount struct {
	Dir string `json:"dir"`
	// Key is BuildKit's key of the cache directory it came from.
	Key    string `json:"key"`
	ID     string `json:"id"`
	Target string `json:"target"`
}

// Snapshot is a cache mount snapshot read back from the registry.
type Snapshot struct {
	// Digest is the manifest's digest.
	Digest string
	Layers []v1.Descriptor
	Mounts []SnapshotMount
}

// Bytes is the size of its layers in the registry.
func (s Snapshot) Bytes() int64 {
	var n int64
	for _, l := range s.Layers {
		n += l.Size
	}
	return n
}

// Dirs are the directories of the mounts it holds.
func (s Snapshot) Dirs() []string {
	out := make([]string, len(s.Mounts))
	for i, m := range s.Mounts {
		out[i] = m.Dir
	}
	return out
}

// ErrNoSnapshot is a snapshot tag that does not exist (yet).
var ErrNoSnapshot = errors.New("no snapshot")

// SnapshotError is a snapshot that exists but cannot be used: not an
// image, no mounts label, or a layer the registry does not have.
type SnapshotError struct {
	Ref string
	Msg string
}

func (e *SnapshotError) Error() string { return fmt.Sprintf("snapshot %s: %s", e.Ref, e.Msg) }

// Snapshot reads the cache mount snapshot at ref: its manifest (one
// image; not an index), its config's mounts label, and a look-up of every
// layer. It reads no layer's bytes.
func (v *Verifier) Snapshot(ctx context.Context, ref string) (Snapshot, error) {
	r, ctx, cancel, c, opts, err := v.beginRef(ctx, ref)
	if err != nil {
		return Snapshot{}, err
	}
	defer cancel()
	p, err := remote.NewPuller(opts...)
	if err != nil {
		return Snapshot{}, err
	}
	desc, err := p.Get(ctx, r)
	if isNotFound(err) {
		return Snapshot{}, fmt.Errorf("%s: %w", r, ErrNoSnapshot)
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("fetch %s: %w", r, v.explain(ctx, c, r, err))
	}
	bad := func(format string, a ...any) error {
		return &SnapshotError{Ref: r.String(), Msg: fmt.Sprintf(format, a...)}
	}
	if !desc.MediaType.IsImage() {
		return Snapshot{}, bad("it is a %s, not an image manifest", desc.MediaType)
	}
	img, err := desc.Image()
	if err != nil {
		return Snapshot{}, bad("cannot read its manifest: %v", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return Snapshot{}, bad("cannot read its manifest: %v", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return Snapshot{}, bad("cannot read its config: %v", v.explain(ctx, c, r, err))
	}
	s := Snapshot{Digest: desc.Digest.String(), Layers: m.Layers}
	label, ok := cfg.Config.Labels[MountsLabel]
	if !ok {
		return s, bad("its config has no %s label, so what it holds is not known", MountsLabel)
	}
	if err := json.Unmarshal([]byte(label), &s.Mounts); err != nil {
		return s, bad("its %s label is not a list of mounts: %v", MountsLabel, err)
	}
	for _, mt := range s.Mounts {
		if mt.Dir == "" || mt.Key == "" {
			return s, bad("its %s label lists a mount without dir or key", MountsLabel)
		}
	}
	if len(m.Layers) == 0 {
		return s, bad("it has no layers")
	}
	named := func(what string, err error) error { return fmt.Errorf("%s: %w", what, v.explain(ctx, c, r, err)) }
	for _, l := range m.Layers {
		if msg := layerMissing(ctx, p, r, l, named); msg != "" {
			return s, bad("%s", strings.Replace(msg, "the cache manifest", "the snapshot's manifest", 1))
		}
	}
	return s, nil
}
