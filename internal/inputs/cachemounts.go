package inputs

import (
	"fmt"
	"strconv"
	"strings"
)

// Inputs on cache mounts.
const (
	CacheMountsInput        = "cache-mounts"
	CacheMountsMaxSizeInput = "cache-mounts-max-size"
	// DefaultMountsMaxSize is cache-mounts-max-size's default.
	DefaultMountsMaxSize = "2GB"
)

// CacheMountsMode is how the contents of RUN --mount=type=cache survive
// cold builders.
type CacheMountsMode string

// Cache mount modes.
const (
	// MountsOff leaves cache mounts to the builder.
	MountsOff CacheMountsMode = "off"
	// MountsRegistry restores them from a snapshot image in the registry
	// before the build and saves what is new after a verified build.
	MountsRegistry CacheMountsMode = "registry"
)

// CacheMounts are the settings of cache-mounts.
type CacheMounts struct {
	Mode CacheMountsMode
	// MaxSize is the most bytes one mount may hold to be saved.
	MaxSize int64
}

// cacheMounts reads the cache mount inputs.
func (v Values) cacheMounts(s *Settings, fail func(input, format string, a ...any)) {
	switch m := CacheMountsMode(strings.ToLower(strings.TrimSpace(v.Text(CacheMountsInput)))); m {
	case "":
		s.Mounts.Mode = MountsOff
	case MountsOff, MountsRegistry:
		s.Mounts.Mode = m
	default:
		fail(CacheMountsInput, "%q is not one of off, registry", m)
	}
	raw := strings.TrimSpace(v.Text(CacheMountsMaxSizeInput))
	if raw == "" {
		raw = DefaultMountsMaxSize
	}
	n, err := ParseSize(raw)
	if err != nil {
		fail(CacheMountsMaxSizeInput, "%v", err)
		return
	}
	s.Mounts.MaxSize = n
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// ParseSize reads a size: a whole number of bytes or a number with a unit
// (kB, MB, GB, TB in powers of 1000; KiB, MiB, GiB, TiB in powers of
// 1024), more than zero.
func ParseSize(raw string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(raw))
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	mult, ok := sizeUnits[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || f <= 0 || f*float64(mult) >= 1<<62 {
		return 0, fmt.Errorf("%q is not a size (a number of bytes, or with kB, MB, GB, TB, KiB, MiB, GiB or TiB: 2GB, 500MiB)", raw)
	}
	return int64(f * float64(mult)), nil
}
