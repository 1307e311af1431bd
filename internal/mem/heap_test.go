package mem

import (
	"runtime"
	"runtime/metrics"
	"testing"
)

// TestHeapBytesTracksTheHeap checks HeapBytes against MemStats.HeapAlloc
// around a large allocation that stays live.
func TestHeapBytesTracksTheHeap(t *testing.T) {
	// Collect and sweep what earlier tests (or -count runs) left, so that
	// no background sweep frees much between the two reads below.
	runtime.GC()
	buf := make([]byte, 64<<20)
	buf[len(buf)-1] = 1
	got := HeapBytes()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if got < 64<<20 {
		t.Errorf("HeapBytes %d with a live 64 MiB allocation", got)
	}
	// Both count heap objects not yet freed; only what is allocated or
	// swept between the two reads separates them.
	if d := int64(ms.HeapAlloc) - int64(got); d < -4<<20 || d > 4<<20 {
		t.Errorf("HeapBytes %d, MemStats.HeapAlloc %d", got, ms.HeapAlloc)
	}
	runtime.KeepAlive(buf)
}

// TestHeapBytesDoesNotStopTheWorld counts the runtime's non-GC
// stop-the-world pauses across HeapBytes calls: ReadMemStats adds one per
// call.
func TestHeapBytesDoesNotStopTheWorld(t *testing.T) {
	pauses := func() uint64 {
		s := []metrics.Sample{{Name: "/sched/pauses/total/other:seconds"}}
		metrics.Read(s)
		var n uint64
		for _, c := range s[0].Value.Float64Histogram().Counts {
			n += c
		}
		return n
	}
	before := pauses()
	for range 10 {
		_ = HeapBytes()
	}
	if d := pauses() - before; d != 0 {
		t.Errorf("%d stop-the-world pauses during 10 HeapBytes calls", d)
	}
	// The count is live: ReadMemStats shows up in it.
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if pauses() == before {
		t.Error("ReadMemStats left no pause in /sched/pauses/total/other:seconds")
	}
}
