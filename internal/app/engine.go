package app

import (
	"fmt"

	"github.com/inlinecache/action/internal/builder"
	"github.com/inlinecache/action/internal/plan"
)

// dockerDriverBackend is a docker-driver builder as its engine's image
// store lets it build. The driver's features (buildx reads them from the
// engine's BuildKit worker) say multi-platform, cache export and
// attestations: all three on the containerd image store, none on the
// classic one. Push by digest is no feature buildx lists, and buildx
// v0.38.2 refuses it on the docker driver whatever the store ("failed to
// build: push-by-digest is currently not implemented for docker driver,
// please create a new builder instance", run on dockerd 28.5.2 with each
// store), so tag-after-verify falls back there.
func dockerDriverBackend(bx builder.Info, caps map[plan.Capability]bool) plan.Backend {
	e := bx.Engine
	caps[plan.PushByDigest] = false
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
