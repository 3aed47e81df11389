package app

import (
	"fmt"

	"github.com/inlinecache/action/internal/builder"
	"github.com/inlinecache/action/internal/plan"
)

// dockerDriverBackend is a docker-driver builder as its engine's image
// store lets it build. The driver's features (buildx reads the engine's
// BuildKit worker) say multi-platform, cache export and attestations; push
// by digest is no feature buildx lists: the classic store pushes only
// tagged images, the containerd store's image exporter pushes by digest
// (found by running both, see docs/builders.md).
func dockerDriverBackend(bx builder.Info, caps map[plan.Capability]bool) plan.Backend {
	e := bx.Engine
	caps[plan.PushByDigest] = e.Store == builder.StoreContainerd
	return plan.DockerDriverBackend(bx.Command, bx.Inspection.Name, plan.Engine{
		Version:    e.Version,
		Store:      string(e.Store),
		Containerd: e.Store == builder.StoreContainerd,
	}, caps)
}

// describeEngine is the docker-driver builder's engine for the builder
// line: "; engine 28.5.2, containerd image store".
func describeEngine(bx builder.Info) string {
	if bx.Inspection.Driver != "docker" {
		return ""
	}
	e := bx.Engine
	switch {
	case e.Version != "":
		return fmt.Sprintf("; engine %s, %s", e.Version, e.Store)
	case e.Store != builder.StoreUnknown:
		return fmt.Sprintf("; engine of unknown version (%s), %s by the driver's features", bx.EngineErr, e.Store)
	}
	return ""
}
