package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestPoolFor checks that every part runs exactly once, slots stay below
// the width, and nested and concurrent loops finish (an offer no worker
// takes is done by the caller).
func TestPoolFor(t *testing.T) {
	p := NewPool(3)
	for _, tc := range []struct{ width, parts int }{{1, 5}, {2, 1}, {2, 7}, {4, 100}, {8, 3}, {3, 0}} {
		counts := make([]atomic.Int32, tc.parts)
		var badSlot atomic.Bool
		w := min(tc.width, p.Width(tc.parts))
		p.For(tc.width, tc.parts, func(slot, part int) {
			if slot < 0 || slot >= max(w, 1) {
				badSlot.Store(true)
			}
			counts[part].Add(1)
		})
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Errorf("width %d parts %d: part %d ran %d times", tc.width, tc.parts, i, c)
			}
		}
		if badSlot.Load() {
			t.Errorf("width %d parts %d: slot out of range", tc.width, tc.parts)
		}
	}
	var total atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.For(4, 8, func(_, _ int) {
				p.For(4, 8, func(_, _ int) { total.Add(1) })
			})
		}()
	}
	wg.Wait()
	if got := total.Load(); got != 4*8*8 {
		t.Errorf("nested loops ran %d parts, want %d", got, 4*8*8)
	}
}

// TestPoolRows checks that the row ranges tile [0, rows) exactly.
func TestPoolRows(t *testing.T) {
	p := NewPool(runtime.NumCPU())
	for _, rows := range []int{0, 1, 15, 16, 17, 384, 1000} {
		seen := make([]atomic.Int32, rows)
		p.Rows(rows, 16, func(r0, r1 int) {
			for i := r0; i < r1; i++ {
				seen[i].Add(1)
			}
		})
		for i := range seen {
			if c := seen[i].Load(); c != 1 {
				t.Fatalf("rows %d: row %d covered %d times", rows, i, c)
			}
		}
	}
	var nilPool *Pool
	n := 0
	nilPool.Rows(10, 1, func(r0, r1 int) { n += r1 - r0 })
	if n != 10 {
		t.Errorf("nil pool covered %d rows, want 10", n)
	}
}

// BenchmarkPoolFor is the overhead of one parallel loop of two tiny parts
// (the hand-off to a worker and back), against starting a goroutine.
func BenchmarkPoolFor(b *testing.B) {
	var sink atomic.Int64
	b.Run("pool", func(b *testing.B) {
		p := defaultImpl().pool
		for b.Loop() {
			p.For(2, 2, func(_, i int) { sink.Add(int64(i)) })
		}
	})
	b.Run("goroutine", func(b *testing.B) {
		for b.Loop() {
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); sink.Add(1) }()
			sink.Add(0)
			wg.Wait()
		}
	})
}
