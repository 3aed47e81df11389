package main

import "testing"

func TestMajorTag(t *testing.T) {
	existing := []string{"v1", "v1.2.3", "v1.3.0", "v1.10.0-rc.1", "v2.0.0", "other"}
	for _, c := range []struct{ tag, want string }{
		{"v1.3.1", "v1"},    // newest of v1
		{"v1.3.0", "v1"},    // re-run of the newest release
		{"v1.10.0", "v1"},   // numeric, not string, order
		{"v1.2.4", ""},      // patch of an older minor after v1.3.0
		{"v1.4.0-rc.1", ""}, // pre-release
		{"v2.0.1", "v2"},
		{"v3.0.0", "v3"},
		{"v1.3", ""},
		{"vfoo.bar.baz", ""},
		{"v01.2.3", ""},
	} {
		if got := MajorTag(c.tag, existing); got != c.want {
			t.Errorf("MajorTag(%q) = %q, want %q", c.tag, got, c.want)
		}
	}
}
