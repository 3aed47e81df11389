package inputs

import "testing"

func TestCacheMountsInputs(t *testing.T) {
	t.Parallel()
	s, _, err := read(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Mounts != (CacheMounts{Mode: MountsOff, MaxSize: 2_000_000_000}) {
		t.Errorf("defaults: %+v", s.Mounts)
	}
	for raw, want := range map[string]int64{"2GB": 2e9, "500MiB": 500 << 20, "1.5 GB": 1.5e9, "4096": 4096, "10kB": 1e4, "1TiB": 1 << 40} {
		s, _, err := read(t, map[string]string{"cache-mounts": "Registry", "cache-mounts-max-size": raw})
		if err != nil || s.Mounts.Mode != MountsRegistry || s.Mounts.MaxSize != want {
			t.Errorf("%s: %+v, %v; want registry, %d", raw, s.Mounts, err, want)
		}
	}
}

func TestBadCacheMountsInputs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env   map[string]string
		input string
		says  string
	}{
		{map[string]string{"cache-mounts": "gha"}, "cache-mounts", `"gha" is not one of off, registry`},
		{map[string]string{"cache-mounts-max-size": "big"}, "cache-mounts-max-size", `"big" is not a size`},
		{map[string]string{"cache-mounts-max-size": "0"}, "cache-mounts-max-size", `"0" is not a size`},
		{map[string]string{"cache-mounts-max-size": "-1GB"}, "cache-mounts-max-size", `"-1GB" is not a size`},
		{map[string]string{"cache-mounts-max-size": "2 parsecs"}, "cache-mounts-max-size", `"2 parsecs" is not a size`},
	} {
		wantInputError(t, tt.env, tt.input, tt.says)
	}
}
