// Package cachemeta decodes and checks the inline cache metadata BuildKit
// embeds in an image config under "moby.buildkit.cache.v0", the way
// BuildKit's importer reads it (cache/remotecache/import.go and
// cache/remotecache/v1/parse.go): a base64 JSON array of cache records
// whose results name image layers by index and whose inputs link records
// to each other by index.
//
// The records are BuildKit's own types (cache/remotecache/v1/types, Go
// package cacheimporttypes) so the JSON field names and shapes cannot drift
// from what BuildKit writes. That package is a leaf: `go list -deps` shows
// it needs only the standard library and github.com/opencontainers/go-digest
// (already required by go-containerregistry), so reusing it costs nothing.
// We deliberately do not import cache/remotecache/v1 itself (the parser),
// which pulls in the solver, containerd and gRPC.
package cachemeta

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	cachetypes "github.com/moby/buildkit/cache/remotecache/v1/types"
)

// ConfigKey is the image config key holding the inline cache.
const ConfigKey = "moby.buildkit.cache.v0"

// RegistryCacheConfigMediaType is the config media type of a cache exported
// with --cache-to type=registry: a separate cache manifest, not inline cache.
const RegistryCacheConfigMediaType = cachetypes.CacheConfigMediaTypeV0

// Size limits on what is read from a registry, so that a hostile or broken
// image cannot make us allocate without bound. Real ones are far smaller: a
// manifest is a few KiB; BuildKit's configs with inline cache are tens of
// KiB even for large builds.
const (
	MaxManifestBytes = 4 << 20  // one manifest or index
	MaxConfigBytes   = 16 << 20 // one image config, inline cache included
	MaxPayloadBytes  = 8 << 20  // the decoded inline cache payload
)

// ErrAbsent means the config has no inline cache at all.
var ErrAbsent = errors.New("image config has no " + ConfigKey + " key: the image was pushed without inline cache")

// Record is one cache record.
type Record = cachetypes.CacheRecord

// HistoryStep is one image config history entry.
type HistoryStep struct {
	CreatedBy  string `json:"created_by,omitempty"`
	EmptyLayer bool   `json:"empty_layer,omitempty"`
}

// Payload is a decoded inline cache.
type Payload struct {
	Records []Record
	// DiffIDs is the number of rootfs.diff_ids in the config; BuildKit
	// ignores the cache when it differs from the manifest's layer count.
	DiffIDs int
	// History is the config's history, to name the step behind each layer.
	History []HistoryStep
}

// config is the part of an image config this package reads.
type config struct {
	RootFS struct {
		DiffIDs []json.RawMessage `json:"diff_ids"`
	} `json:"rootfs"`
	History []HistoryStep   `json:"history"`
	Cache   json.RawMessage `json:"moby.buildkit.cache.v0"`
}

// unmarshalConfig decodes a config blob into v, refusing one over
// MaxConfigBytes before reading it; the errors name the blob (what) and
// what it should be (kind).
func unmarshalConfig(raw []byte, what, kind string, v any) error {
	if len(raw) > MaxConfigBytes {
		return fmt.Errorf("%s is %d bytes, over the %d-byte limit", what, len(raw), MaxConfigBytes)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s is not %s: %w", what, kind, err)
	}
	return nil
}

// Decode reads the inline cache out of a raw image config.
func Decode(rawConfig []byte) (Payload, error) {
	var c config
	if err := unmarshalConfig(rawConfig, "image config", "JSON", &c); err != nil {
		return Payload{}, err
	}
	if c.Cache == nil || string(c.Cache) == "null" {
		return Payload{}, ErrAbsent
	}
	var b64 string
	if err := json.Unmarshal(c.Cache, &b64); err != nil {
		return Payload{}, fmt.Errorf("%s is not a string", ConfigKey)
	}
	records, err := DecodePayload(b64)
	if err != nil {
		return Payload{}, err
	}
	return Payload{Records: records, DiffIDs: len(c.RootFS.DiffIDs), History: c.History}, nil
}

// DecodePayload decodes the value of the config key: base64 of a JSON
// array of cache records.
func DecodePayload(b64 string) ([]Record, error) {
	if b64 == "" {
		return nil, fmt.Errorf("%s is empty", ConfigKey)
	}
	if base64.StdEncoding.DecodedLen(len(b64)) > MaxPayloadBytes {
		return nil, fmt.Errorf("%s decodes to about %d bytes, over the %d-byte limit", ConfigKey, base64.StdEncoding.DecodedLen(len(b64)), MaxPayloadBytes)
	}
	// BuildKit reads the key into a []byte, which encoding/json decodes as
	// standard base64: the same decoder here.
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%s is not base64: %w", ConfigKey, err)
	}
	var records []Record
	if err := json.Unmarshal(raw, &records); err != nil {
		return nil, fmt.Errorf("%s is not a JSON array of cache records: %w", ConfigKey, err)
	}
	if len(records) == 0 {
		return nil, fmt.Errorf("%s holds no cache records", ConfigKey)
	}
	return records, nil
}
