package builder

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Store is a docker engine's image store.
type Store string

// Image stores.
const (
	// StoreUnknown: the engine's info could not be read.
	StoreUnknown Store = ""
	// StoreClassic is the engine's graph-driver store (overlay2): it keeps
	// one manifest per image, and its BuildKit exports no cache and pushes
	// only by tag.
	StoreClassic Store = "classic image store"
	// StoreContainerd is the containerd image store (snapshotters), the
	// default of new Docker 29 installations.
	StoreContainerd Store = "containerd image store"
)

// Engine is what the docker engine behind a docker-driver builder says of
// itself ("docker info").
type Engine struct {
	Version string
	Store   Store
	// Driver is its storage driver: overlay2, or overlayfs (a snapshotter).
	Driver string
}

// engineInfoTimeout bounds docker info.
const engineInfoTimeout = 30 * time.Second

// snapshotterType is the driver-type docker info reports for the containerd
// image store.
const snapshotterType = "io.containerd.snapshotter.v1"

// ParseEngineInfo reads "docker info --format '{{json .}}'". Engines 20.10
// to 29 print ServerVersion, Driver and DriverStatus; with the containerd
// image store DriverStatus holds ["driver-type", snapshotterType].
func ParseEngineInfo(out string) (Engine, error) {
	var v struct {
		ServerVersion string
		Driver        string
		DriverStatus  [][2]string
	}
	if err := json.Unmarshal([]byte(firstLine(out)), &v); err != nil {
		return Engine{}, fmt.Errorf("docker info: %w", err)
	}
	if v.ServerVersion == "" {
		return Engine{}, fmt.Errorf("docker info: no server version in %.200q", out)
	}
	e := Engine{Version: v.ServerVersion, Driver: v.Driver, Store: StoreClassic}
	if slices.Contains(v.DriverStatus, [2]string{"driver-type", snapshotterType}) {
		e.Store = StoreContainerd
	}
	return e, nil
}

// readEngine asks the docker CLI about the engine of the docker context
// that a docker-driver builder's node names (its endpoint): "default" is
// DOCKER_HOST or the default socket, as for buildx.
func readEngine(ctx context.Context, h Host, dockerPath, dockerContext string) (Engine, error) {
	args := []string{"info", "--format", "{{json .}}"}
	if dockerContext != "" {
		args = append([]string{"--context", dockerContext}, args...)
	}
	// buildx has just reached the same engine; a hung one is bounded.
	ctx, cancel := context.WithTimeout(ctx, engineInfoTimeout)
	defer cancel()
	out, errOut, err := output(ctx, h.Run, h.Env, dockerPath, args...)
	if err != nil {
		return Engine{}, fmt.Errorf("docker info: %v: %s", err, lastLine(errOut))
	}
	return ParseEngineInfo(out)
}

// withEngine adds, for a docker-driver builder, what its engine says of
// itself. Without a docker CLI, or if it cannot tell, the store is read
// from the driver's features: buildx turns the OCI exporter on exactly
// when the engine's BuildKit worker runs on containerd snapshotters.
func withEngine(ctx context.Context, h Host, dockerPath string, info Info) Info {
	in := info.Inspection
	if in.Driver != "docker" || len(in.Nodes) != 1 {
		return info
	}
	if dockerPath != "" {
		e, err := readEngine(ctx, h, dockerPath, in.Nodes[0].Endpoint)
		if err == nil {
			info.Engine = e
			return info
		}
		info.EngineErr = err.Error()
	}
	if ok, known := in.Supports(FeatureOCIExporter); known {
		info.Engine.Store = StoreClassic
		if ok {
			info.Engine.Store = StoreContainerd
		}
	}
	return info
}
