package app

import (
	"strings"
	"testing"
)

// The docker driver on dockerd 28.5.2: what its image store allows is
// planned, what it does not is refused naming engine, store and remedy, and
// the builder line says which engine and store were found.
func TestDockerDriverEngineStores(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		store, inspect, info string
		in                   map[string]string
		refused              []string
	}{
		{"classic", "inspect-docker-28-classic.txt", "info-dockerd-28-classic.json",
			map[string]string{"platforms": "linux/amd64,linux/386", "cache-stages": "registry"},
			[]string{
				`input "platforms": builder "inline-cache-dockerd28-classic" (driver docker, engine 28.5.2, classic image store) cannot build several platforms`,
				`input "cache-stages": builder "inline-cache-dockerd28-classic" (driver docker, engine 28.5.2, classic image store) cannot export a registry cache (type=registry,mode=max): use cache-stages images, or use a docker-container builder (docker/setup-buildx-action) or turn on the engine's containerd image store`,
			}},
		{"containerd", "inspect-docker-28-containerd.txt", "info-dockerd-28-containerd.json",
			map[string]string{"platforms": "linux/amd64,linux/386", "cache-stages": "registry", "tag-after-verify": "true"},
			[]string{
				`input "tag-after-verify": builder "inline-cache-dockerd28-containerd" (driver docker, engine 28.5.2, containerd image store) cannot push an image by digest, so tags would move before verification: set tag-after-verify to false (or auto) to push the tags with the image, or buildx's docker driver pushes by digest on no image store; use a docker-container builder (docker/setup-buildx-action)`,
			}},
	} {
		t.Run(tt.store, func(t *testing.T) {
			t.Parallel()
			f := &fakeBuildx{t: t, inspect: tt.inspect, engineInfo: tt.info}
			r := runApp(t, f, tt.in, nil)
			if r.code != ExitUsage {
				t.Errorf("exit %d, want %d:\n%s", r.code, ExitUsage, r.stdout)
			}
			for _, want := range tt.refused {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("refusals lack %q:\n%s", want, r.stdout)
				}
			}
			if n := strings.Count(r.stdout, "cannot "); n != len(tt.refused) {
				t.Errorf("%d refusals, want %d:\n%s", n, len(tt.refused), r.stdout)
			}
			if f.builds() != 0 {
				t.Errorf("a build ran")
			}
		})
	}
	// Allowed on the containerd store: planned as on any builder, with
	// the builder line naming engine and store.
	f := &fakeBuildx{t: t, inspect: "inspect-docker-28-containerd.txt", engineInfo: "info-dockerd-28-containerd.json"}
	r := runApp(t, f, map[string]string{"platforms": "linux/amd64,linux/386"}, nil)
	if r.code != 0 || !strings.Contains(r.stdout, `driver docker, nodes: inline-cache-dockerd28-containerd BuildKit v0.25.2 [linux/amd64,linux/amd64/v2,linux/amd64/v3,linux/amd64/v4]; engine 28.5.2, containerd image store`) ||
		!strings.Contains(r.stdout, "--platform linux/amd64,linux/386") {
		t.Errorf("exit %d:\n%s", r.code, r.stdout)
	}
}
