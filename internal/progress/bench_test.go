//go:build unix

package progress

import (
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRead is the decoder on a synthetic stream: ns/op, B/op and
// allocs/op are per event.
func BenchmarkRead(b *testing.B) {
	s := newSynth(b.N)
	b.SetBytes(int64(len(s.block) / s.events))
	b.ReportAllocs()
	b.ResetTimer()
	if _, err := Read(s, RawJSON); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRead1M decodes a million events per op (the target:
// under a second, in constant memory) and reports the heap in use after
// it, which must not grow with the number of events, and the CPU time the
// process used per op (on a shared machine, ns/op also counts waiting for
// a CPU).
func BenchmarkRead1M(b *testing.B) {
	b.ReportAllocs()
	var heap uint64
	cpu0 := cpuTime()
	for b.Loop() {
		r := New(RawJSON)
		if _, err := io.Copy(r, newSynth(1_000_000)); err != nil {
			b.Fatal(err)
		}
		r.Close()
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		heap = max(heap, m.HeapInuse)
		if got := r.Build().TotalSteps(); got != 50 {
			b.Fatalf("%d steps, want 50", got)
		}
	}
	b.ReportMetric(float64(heap)/(1<<20), "MiB-heap")
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is the user and system time the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
