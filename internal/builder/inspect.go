package builder

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Inspection is what "buildx inspect" printed about a builder.
type Inspection struct {
	Name   string
	Driver string
	// Error is the builder-level error buildx printed (e.g. the docker
	// daemon cannot be reached); inspect still exits 0 then.
	Error string
	Nodes []Node
}

// Node is one BuildKit instance of a builder.
type Node struct {
	Name     string
	Endpoint string
	Status   string
	// BuildKit is the version the node reports: v0.34.2, or v0.8+unknown
	// (docker engine), or v0.0.0+unknown (a local build).
	BuildKit  string
	Platforms []string
	Error     string
	// Features are the driver's capabilities, printed only in debug mode
	// (DEBUG=1), by name, e.g. "Multi-platform build".
	Features map[string]bool
}

// ParseInspect reads the text of "buildx inspect". It keeps to the fields it
// needs and skips what it does not know (labels, GC policy, files, new
// fields of later versions), so it reads the output of old and new buildx.
func ParseInspect(out string) (Inspection, error) {
	var in Inspection
	var node *Node
	inNodes := false
	section := ""
	for _, line := range strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		// Indented lines belong to the section opened by the last
		// "Key:" line without a value.
		if line[0] == ' ' || line[0] == '\t' {
			if node != nil && section == "Features" {
				i := strings.LastIndex(line, ":")
				if i < 0 {
					continue
				}
				v, err := strconv.ParseBool(strings.TrimSpace(line[i+1:]))
				if err != nil {
					continue
				}
				if node.Features == nil {
					node.Features = map[string]bool{}
				}
				node.Features[strings.TrimSpace(line[:i])] = v
			}
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		section = ""
		if val == "" {
			section = key
		}
		if !inNodes {
			inNodes = key == "Nodes"
			setField(in.fields(), key, val)
			continue
		}
		if key == "Name" {
			in.Nodes = append(in.Nodes, Node{Name: val})
			node = &in.Nodes[len(in.Nodes)-1]
			continue
		}
		if node == nil {
			continue
		}
		if key != "Platforms" {
			setField(node.fields(), key, val)
			continue
		}
		for _, p := range strings.Split(val, ",") {
			// A trailing * marks platforms set on the builder.
			if p = strings.TrimSuffix(strings.TrimSpace(p), "*"); p != "" {
				node.Platforms = append(node.Platforms, p)
			}
		}
	}
	if in.Name == "" {
		return in, errors.New("buildx inspect printed no builder name")
	}
	return in, nil
}

// Version is a BuildKit version as nodes report it.
type Version struct {
	Major, Minor, Patch int
	// Unknown is set for local builds (v0.0.0+unknown), which say nothing
	// about what the daemon supports.
	Unknown bool
}

// ParseVersion reads versions such as v0.34.2, v0.8+unknown (docker engine
// 20.10), v0.0.0+unknown or 0.13.0-rc1.
func ParseVersion(s string) (Version, error) {
	core := strings.TrimPrefix(strings.TrimSpace(s), "v")
	core, _, _ = strings.Cut(core, "+")
	core, _, _ = strings.Cut(core, "-")
	parts := strings.Split(core, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("not a BuildKit version: %q", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return Version{}, fmt.Errorf("not a BuildKit version: %q", s)
		}
		n[i] = v
	}
	v := Version{Major: n[0], Minor: n[1], Patch: n[2]}
	v.Unknown = v == Version{}
	return v, nil
}

// Supports reports a driver feature: known says whether buildx printed it.
func (in Inspection) Supports(feature string) (ok, known bool) {
	if len(in.Nodes) == 0 {
		return false, false
	}
	all := true
	for _, n := range in.Nodes {
		v, k := n.Features[feature]
		if !k {
			return false, false
		}
		all = all && v
	}
	return all, true
}

// Feature names as buildx prints them.
const (
	FeatureMultiPlatform = "Multi-platform build"
	FeatureCacheExport   = "Cache export"
	// FeatureOCIExporter stands for an image store that keeps indexes
	// (attestations): the docker driver has it only with the containerd
	// image store.
	FeatureOCIExporter = "OCI exporter"
)

// Has reports a driver feature on every node. When buildx printed no
// features (an old version), only the docker driver lacks them.
func (in Inspection) Has(feature string) bool {
	if ok, known := in.Supports(feature); known {
		return ok
	}
	return in.Driver != "docker"
}

// BuildxVersion is the version "buildx version" printed
// ("github.com/docker/buildx v0.38.2 0123abc"), if it reads as one.
func (i Info) BuildxVersion() (Version, bool) {
	f := strings.Fields(i.Version)
	if len(f) < 2 {
		return Version{}, false
	}
	v, err := ParseVersion(f[1])
	return v, err == nil && !v.Unknown
}

// AtLeast compares versions.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// fields are the builder's one-line text fields, by the key buildx
// prints.
func (in *Inspection) fields() map[string]*string {
	return map[string]*string{"Name": &in.Name, "Driver": &in.Driver, "Error": &in.Error}
}

// fields are the node's one-line text fields, by the key buildx prints.
func (n *Node) fields() map[string]*string {
	return map[string]*string{
		"Endpoint": &n.Endpoint, "Status": &n.Status, "Error": &n.Error,
		// Older buildx printed "Buildkit:".
		"BuildKit version": &n.BuildKit, "BuildKit": &n.BuildKit, "Buildkit": &n.BuildKit,
	}
}

// setField sets the field of fields that key names to val; a key it does
// not know is skipped.
func setField(fields map[string]*string, key, val string) {
	if f, ok := fields[key]; ok {
		*f = val
	}
}
