// Package timings keeps one build's step times beside the image it pushed,
// as a small OCI artifact that refers to that image, and works out from the
// records of a build's cache sources what the cache saved it.
//
// Record, Artifact, Newest and Compute are pure; Push and Read are the I/O
// seam, through a Registry (verify.Verifier is one).
package timings

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/inlinecache/action/internal/progress"
)

// Media types of the artifact.
const (
	// ArtifactType is the artifact manifest's artifactType, and the media
	// type of its one layer, the JSON Record.
	ArtifactType = "application/vnd.inlinecache.timings.v1+json"
	// EmptyConfigMediaType is OCI's empty descriptor, the config of an
	// artifact that needs none.
	EmptyConfigMediaType = string(types.OCIEmptyJSON)
	// CreatedAnnotation on the manifest says when the record was made:
	// referrer listings carry it, so the newest is picked without reading
	// every record.
	CreatedAnnotation = "org.opencontainers.image.created"
	// MaxRecordBytes bounds a record read back: a record of a few hundred
	// steps is tens of kilobytes.
	MaxRecordBytes = 1 << 20
)

// emptyConfig is the content OCI prescribes for the empty descriptor.
var emptyConfig = []byte("{}")

// Record is one build's steps as BuildKit showed them, with their times.
type Record struct {
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	Steps   []Step    `json:"steps"`
	// CacheImportSeconds and ExportSeconds are what the build spent
	// importing cache and exporting (pushing included).
	CacheImportSeconds float64 `json:"cacheImportSeconds"`
	ExportSeconds      float64 `json:"exportSeconds"`
}

// Step is one step of a record.
type Step struct {
	// Name is the vertex name, e.g. "[build 4/6] RUN go mod download".
	Name string `json:"name"`
	// Platform is set on multi-platform builds: BuildKit may name a step
	// alike on every platform.
	Platform string  `json:"platform,omitempty"`
	Seconds  float64 `json:"seconds"`
	Cached   bool    `json:"cached"`
	// RanSeconds is what the step took when it last ran: Seconds for a
	// step that ran; for a cached one what the cache source's record said,
	// so that a chain of cached builds keeps the figure; nil when unknown.
	RanSeconds *float64 `json:"ranSeconds,omitempty"`
}

// recordVersion is the Record layout this package writes and reads.
const recordVersion = 1

// NewRecord is the record of build b, made at created. saved, when not
// nil, is what Compute found for b: it gives the cached steps the time they
// took when they last ran. Steps that did not end (failed, cancelled) are
// left out: they say nothing about a later build.
func NewRecord(b *progress.Build, created time.Time, saved *Savings) Record {
	r := Record{Version: recordVersion, Created: created.UTC(), Steps: []Step{},
		CacheImportSeconds: secs(b.CacheImport), ExportSeconds: secs(b.Export)}
	ran := map[string][]float64{}
	if saved != nil {
		for _, s := range saved.Steps {
			k := key(s.Platform, s.Name)
			ran[k] = append(ran[k], s.Seconds)
		}
	}
	for _, s := range b.Steps {
		st := Step{Name: s.Name, Platform: s.Platform, Seconds: secs(s.Duration)}
		switch s.State {
		case progress.Ran:
			v := st.Seconds
			st.RanSeconds = &v
		case progress.Cached:
			st.Cached = true
			if q := ran[key(s.Platform, s.Name)]; len(q) > 0 {
				v := q[0]
				st.RanSeconds = &v
				ran[key(s.Platform, s.Name)] = q[1:]
			}
		default:
			continue
		}
		r.Steps = append(r.Steps, st)
	}
	return r
}

// secs is d in seconds, to the millisecond.
func secs(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }

func key(platform, name string) string { return platform + "\x00" + name }

// Encode is the record's JSON.
func (r Record) Encode() ([]byte, error) { return json.Marshal(r) }

// Decode reads a record, refusing what this version cannot read.
func Decode(b []byte) (Record, error) {
	if len(b) > MaxRecordBytes {
		return Record{}, fmt.Errorf("step timings record of %d bytes, over the %d-byte limit", len(b), MaxRecordBytes)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("read step timings record: %w", err)
	}
	if r.Version != recordVersion {
		return Record{}, fmt.Errorf("step timings record version %d: this version reads %d", r.Version, recordVersion)
	}
	return r, nil
}

// Artifact is the record as an OCI artifact: its manifest and the blobs
// the manifest names (the empty config, the record).
type Artifact struct {
	Manifest []byte
	Blobs    [][]byte
}

// Artifact encodes the record as an OCI image manifest of artifactType
// ArtifactType referring to subject (the pushed image: digest, media type,
// size). It never touches the image itself.
func (r Record) Artifact(subject v1.Descriptor) (Artifact, error) {
	if subject.Digest == (v1.Hash{}) || subject.MediaType == "" || subject.Size <= 0 {
		return Artifact{}, fmt.Errorf("the subject needs a digest, media type and size: %+v", subject)
	}
	body, err := r.Encode()
	if err != nil {
		return Artifact{}, fmt.Errorf("encode step timings: %w", err)
	}
	desc := func(mt string, b []byte) (v1.Descriptor, error) {
		h, n, err := v1.SHA256(bytes.NewReader(b))
		return v1.Descriptor{MediaType: types.MediaType(mt), Size: n, Digest: h}, err
	}
	config, err := desc(EmptyConfigMediaType, emptyConfig)
	if err != nil {
		return Artifact{}, err
	}
	layer, err := desc(ArtifactType, body)
	if err != nil {
		return Artifact{}, err
	}
	sub := v1.Descriptor{MediaType: subject.MediaType, Size: subject.Size, Digest: subject.Digest}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  ArtifactType,
		Config:        config,
		Layers:        []v1.Descriptor{layer},
		Subject:       &sub,
		Annotations:   map[string]string{CreatedAnnotation: r.Created.UTC().Format(time.RFC3339Nano)},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return Artifact{}, fmt.Errorf("encode the step timings manifest: %w", err)
	}
	return Artifact{Manifest: raw, Blobs: [][]byte{emptyConfig, body}}, nil
}

// ErrNotTimings is a manifest that is not a step timings artifact.
var ErrNotTimings = errors.New("not a step timings artifact")

// RecordLayer finds the record's layer in an artifact manifest.
func RecordLayer(manifest []byte) (v1.Descriptor, error) {
	m, err := v1.ParseManifest(bytes.NewReader(manifest))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%w: %w", ErrNotTimings, err)
	}
	if m.ArtifactType != ArtifactType && string(m.Config.MediaType) != ArtifactType {
		return v1.Descriptor{}, fmt.Errorf("%w: artifactType %q", ErrNotTimings, m.ArtifactType)
	}
	for _, l := range m.Layers {
		if string(l.MediaType) != ArtifactType {
			continue
		}
		if l.Size > MaxRecordBytes {
			return v1.Descriptor{}, fmt.Errorf("step timings record of %d bytes, over the %d-byte limit", l.Size, MaxRecordBytes)
		}
		return l, nil
	}
	return v1.Descriptor{}, fmt.Errorf("%w: no %s layer", ErrNotTimings, ArtifactType)
}

// Newest picks the newest of the step timings artifacts that refer to an
// image (as a referrers listing gives them), by their creation annotation;
// one without a readable time is older than any with one, and ties go to
// the greater digest, so the choice never depends on the listing's order.
// ok is false when none is a step timings artifact.
func Newest(referrers []v1.Descriptor) (v1.Descriptor, bool) {
	var cands []v1.Descriptor
	for _, d := range referrers {
		if d.ArtifactType == ArtifactType {
			cands = append(cands, d)
		}
	}
	if len(cands) == 0 {
		return v1.Descriptor{}, false
	}
	created := func(d v1.Descriptor) time.Time {
		t, _ := time.Parse(time.RFC3339Nano, d.Annotations[CreatedAnnotation])
		return t
	}
	return slices.MaxFunc(cands, func(a, b v1.Descriptor) int {
		if c := created(a).Compare(created(b)); c != 0 {
			return c
		}
		return cmp.Compare(a.Digest.String(), b.Digest.String())
	}), true
}
