package builder

import "testing"

// docker info of real engines: the version, and the image store from the
// storage driver's status.
func TestParseEngineInfo(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		file string
		want Engine
	}{
		{"info-dockerd-20.10.json", Engine{Version: "20.10.24+dfsg1", Store: StoreClassic, Driver: "overlay2"}},
		{"info-dockerd-28-classic.json", Engine{Version: "28.5.2", Store: StoreClassic, Driver: "overlay2"}},
		{"info-dockerd-28-containerd.json", Engine{Version: "28.5.2", Store: StoreContainerd, Driver: "overlayfs"}},
	} {
		got, err := ParseEngineInfo(testdata(t, tt.file))
		if err != nil || got != tt.want {
			t.Errorf("%s: %+v, %v; want %+v", tt.file, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "Cannot connect to the Docker daemon", `{"ServerVersion":""}`} {
		if e, err := ParseEngineInfo(bad); err == nil {
			t.Errorf("%q read as %+v", bad, e)
		}
	}
}
