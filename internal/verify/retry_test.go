package verify

import (
	"net/http"
	"testing"
	"time"
)

func TestOptionsKeepEveryBound(t *testing.T) {
	v := New(WithTimeout(0), WithReadTimeouts(0, 0, 0), WithRetries(0, 0, 0, 0))
	if v.lim != defaultLimits {
		t.Errorf("zero options changed the limits: %+v, want %+v", v.lim, defaultLimits)
	}
	v = New(WithTimeout(time.Second), WithReadTimeouts(1, 2, 3), WithRetries(7, 4, 5, 6))
	want := limits{timeout: time.Second, connect: 1, response: 2, stall: 3, attempts: 7, backoff: 4, maxBackoff: 5, maxRetryAfter: 6}
	if v.lim != want {
		t.Errorf("limits %+v, want %+v", v.lim, want)
	}
}

func TestBackoffIsCappedWithJitter(t *testing.T) {
	lim := limits{backoff: 100 * time.Millisecond, maxBackoff: time.Second}
	for attempt, base := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 60: time.Second} {
		for range 20 {
			if d := backoff(lim, attempt); d < base || d > base+base/2 {
				t.Errorf("backoff after attempt %d = %s, want %s plus at most half", attempt, d, base)
			}
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	for v, want := range map[string]time.Duration{"3": 3 * time.Second, " 0 ": 0, "": -1, "soon": -1, "-5": -1} {
		got, ok := retryAfter(v)
		if want < 0 {
			if ok {
				t.Errorf("retryAfter(%q) = %s, want none", v, got)
			}
			continue
		}
		if !ok || got != want {
			t.Errorf("retryAfter(%q) = %s %v, want %s", v, got, ok, want)
		}
	}
	date := time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)
	if got, ok := retryAfter(date); !ok || got <= 0 || got > 10*time.Second {
		t.Errorf("retryAfter(%q) = %s %v", date, got, ok)
	}
}
