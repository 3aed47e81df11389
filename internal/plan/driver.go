package plan

import (
	"errors"
	"fmt"
	"strings"

	"github.com/inlinecache/action/internal/inputs"
)

// Driver is what the build's buildx builder can do.
type Driver struct {
	// Builder and Name are the builder's name and its driver (docker,
	// docker-container, remote, kubernetes).
	Builder string
	Name    string
	// Features are buildx's driver features by name; a missing one is
	// judged by the driver's name.
	Features map[string]bool
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

func (d Driver) has(feature string) bool {
	if v, ok := d.Features[feature]; ok {
		return v
	}
	// buildx printed no features (an old version): only the docker
	// driver lacks these.
	return d.Name != "docker"
}

// CheckDriver refuses, before the build, settings the builder's driver
// cannot carry out, naming the input: the build would fail later and more
// obscurely. Only the inline cache works on every driver.
func CheckDriver(s inputs.Settings, d Driver) error {
	var errs []error
	where := fmt.Sprintf("builder %q (driver %s)", d.Builder, d.Name)
	if len(s.Platforms) > 1 && !d.has(FeatureMultiPlatform) {
		errs = append(errs, &inputs.Error{Input: inputs.Platforms, Msg: fmt.Sprintf(
			"%s cannot build several platforms (%s) in one go without the containerd image store: build one platform per step, or use a docker-container or remote builder", where, strings.Join(s.Platforms, ","))})
	}
	if !d.has(FeatureCacheExport) {
		for _, e := range s.CacheTo {
			if e.Type != "inline" {
				errs = append(errs, &inputs.Error{Input: inputs.CacheTo, Msg: fmt.Sprintf(
					"%s cannot export cache type=%s: only the inline cache works there (drop the entry, or use a docker-container or remote builder)", where, e.Type)})
			}
		}
	}
	if !d.has(FeatureOCIExporter) {
		attest := func(input string) {
			errs = append(errs, &inputs.Error{Input: input, Msg: fmt.Sprintf(
				"%s cannot store attestations without the containerd image store: leave %s off, or use a docker-container or remote builder", where, input)})
		}
		if wantsAttestation(s.Provenance) {
			attest(inputs.Provenance)
		}
		if wantsAttestation(s.SBOM) {
			attest(inputs.SBOM)
		}
		for _, a := range s.Attests {
			if !strings.Contains(strings.ReplaceAll(a, " ", ""), "disabled=true") {
				attest(inputs.Attests)
				break
			}
		}
		for _, o := range s.Outputs {
			if t := inputs.OutputType(o); t == "oci" || t == "docker" {
				errs = append(errs, &inputs.Error{Input: inputs.Outputs, Msg: fmt.Sprintf(
					"%s cannot export type=%s without the containerd image store (it loads into the engine by itself): drop the output, or use a docker-container or remote builder", where, t)})
			}
		}
	}
	return errors.Join(errs...)
}

func wantsAttestation(p string) bool {
	switch strings.ToLower(strings.TrimSpace(p)) {
	case "", "false", "0", "mode=false":
		return false
	}
	return true
}
