package plan

import "fmt"

// Engine is the docker engine behind a docker-driver builder as detection
// found it: its version and image store, which decide what the driver can
// do. Empty fields were not found out.
type Engine struct {
	Version string
	// Store names the image store: "classic image store" or "containerd
	// image store".
	Store string
	// Containerd is set for the containerd image store.
	Containerd bool
}

// DockerDriverBackend is a builder of buildx's docker driver: BuildKit
// inside the engine, exporting into its image store. Its refusals and
// fallbacks name the engine and store, and the remedy that fits them.
func DockerDriverBackend(command []string, builder string, e Engine, caps map[Capability]bool) Backend {
	b := BuildxBackend(command, builder, "docker", caps)
	version := e.Version
	if version == "" {
		version = "of unknown version"
	}
	store := e.Store
	if store == "" {
		store = "image store unknown"
	}
	b.Where = fmt.Sprintf("builder %q (driver docker, engine %s, %s)", builder, version, store)
	container := `use a docker-container builder (docker/setup-buildx-action)`
	b.Remedy = container
	if !e.Containerd {
		b.Remedy += ` or turn on the engine's containerd image store ("features": {"containerd-snapshotter": true} in daemon.json)`
	}
	// Not the store: buildx refuses push-by-digest on the docker driver
	// ("push-by-digest is currently not implemented for docker driver").
	b.Remedies = map[Capability]string{PushByDigest: "buildx's docker driver pushes by digest on no image store; " + container}
	return b
}
