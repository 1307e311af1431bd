package kernels

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Pool is a set of persistent worker goroutines that run the parts of
// parallel loops (GEMM tiles, attention heads, elementwise rows). Starting
// goroutines on every kernel call made each of the ~90 parallel regions of
// a DiT step pay for goroutine creation and a scheduler hand-off; the
// pool's workers instead stay hot between loops (polling for the next one
// for spinWindow before they park on a channel) and join a loop as soon as
// it is offered. The caller always works on its own loop too, so a loop
// never waits for a worker that is busy elsewhere (nested or concurrent
// loops cannot deadlock: an offer that no worker takes is simply done by
// the caller).
//
// A nil *Pool runs every loop on the calling goroutine.
type Pool struct {
	offers   chan *poolJob           // to parked workers
	hot      atomic.Pointer[poolJob] // the latest loop, for spinning workers
	spinning atomic.Int32            // workers polling hot
	workers  int
}

// spinWindow is how long a worker keeps polling for the next loop after
// one: longer than most serial gaps between the loops of a model step (a
// few µs, so the step's ~90 hand-offs cost nanoseconds, not a futex
// wake-up each), and short, because on a shared machine a polling worker
// takes CPU time from its own caller: at 50 µs a loaded machine's DiT step
// was slower than with no polling at all in 3 of 4 alternated runs.
const spinWindow = 20 * time.Microsecond

// NewPool starts workers goroutines (they live as long as the process; a
// Pool is created once, see defaultImpl).
func NewPool(workers int) *Pool {
	p := &Pool{offers: make(chan *poolJob, workers), workers: workers}
	for range workers {
		go p.serve()
	}
	return p
}

// serve is one worker: it joins every loop offered to it, polling for the
// next one for spinWindow before parking.
func (p *Pool) serve() {
	var last *poolJob
	for {
		p.spinning.Add(1)
		idle := time.Now()
		for {
			if j := p.hot.Load(); j != nil && j != last {
				last = j
				j.join()
				idle = time.Now()
				continue
			}
			if time.Since(idle) > spinWindow {
				break
			}
			runtime.Gosched() // lets the caller run when GOMAXPROCS is 1
		}
		p.spinning.Add(-1)
		j := <-p.offers
		last = j
		j.join()
	}
}

// poolJob is one parallel loop. Jobs are not reused: a worker may still
// hold an offer of a loop that has finished (it then finds no part left).
type poolJob struct {
	fn     func(slot, part int)
	parts  int
	width  int
	next   atomic.Int64 // next part to take
	slots  atomic.Int64 // goroutines that joined
	left   atomic.Int64 // parts not finished
	finish chan struct{}
}

// joinSpin is how long the caller of a loop polls for its last parts to
// finish on the workers before it blocks: most loops end within it (a part
// of a DiT GEMM takes 5-30 µs). Blocking at once made each 256→256 GEMM of
// a DiT step about 60 µs slower than its share of the work on two cores
// (they scaled 1.35× from one core to two; the DiT step 1.38×, 1.69× with
// polling). The poll yields (Gosched), since the worker it waits for may
// have been woken onto the caller's own P; and it polls only while the
// loop's own parts run elsewhere, so it takes no time from other work.
const joinSpin = 50 * time.Microsecond

// wait returns once every part has finished.
func (j *poolJob) wait() {
	if j.left.Load() == 0 {
		return
	}
	start := time.Now()
	for j.left.Load() != 0 {
		if time.Since(start) > joinSpin {
			<-j.finish
			return
		}
		runtime.Gosched()
	}
}

// join takes parts until none is left. The goroutine's slot is the order
// in which it joined, so it is below width.
func (j *poolJob) join() {
	slot := int(j.slots.Add(1) - 1)
	if slot >= j.width {
		return
	}
	for {
		i := int(j.next.Add(1) - 1)
		if i >= j.parts {
			return
		}
		j.fn(slot, i)
		if j.left.Add(-1) == 0 {
			close(j.finish)
		}
	}
}

// Width is the number of goroutines a loop of parts parts runs on:
// at most GOMAXPROCS, the pool's workers plus the caller, and parts.
func (p *Pool) Width(parts int) int {
	if p == nil {
		return min(parts, 1)
	}
	return max(min(parts, runtime.GOMAXPROCS(0), p.workers+1), 0)
}

// For calls fn(slot, part) once for every part in [0, parts) on at most
// width goroutines (the caller among them) and returns when every call has
// returned. slot, below width, identifies the goroutine making the call,
// so fn may use per-goroutine scratch indexed by it. Parts are taken in
// order by whichever goroutine is free, so fn must not depend on who runs
// a part.
func (p *Pool) For(width, parts int, fn func(slot, part int)) {
	width = min(width, p.Width(parts))
	if width <= 1 {
		for i := range parts {
			fn(0, i)
		}
		return
	}
	j := &poolJob{fn: fn, parts: parts, width: width, finish: make(chan struct{})}
	j.left.Store(int64(parts))
	p.hot.Store(j)
	// Spinning workers take it from hot; wake parked ones for the rest.
offer:
	for range width - 1 - int(p.spinning.Load()) {
		select {
		case p.offers <- j:
		default: // every worker has an offer pending: no one is idle
			break offer
		}
	}
	j.join()
	j.wait()
	// Do not keep fn's captures (a chunk's buffers) alive through a worker's
	// last job or a pending offer: every read of j.fn happened before its
	// part's left.Add, hence before finish closed.
	j.fn = nil
	p.hot.CompareAndSwap(j, nil)
}

// Rows splits rows into contiguous ranges of at least minRows rows, a few
// per goroutine, and calls fn(r0, r1) for each, in parallel. The split only
// decides who computes a row, so results do not depend on it.
func (p *Pool) Rows(rows, minRows int, fn func(r0, r1 int)) {
	width := p.Width(rows / max(minRows, 1))
	if width <= 1 {
		if rows > 0 {
			fn(0, rows)
		}
		return
	}
	parts := min(rows/max(minRows, 1), partsPerThread*width)
	p.For(width, parts, func(_, part int) {
		fn(rows*part/parts, rows*(part+1)/parts)
	})
}

// ParallelRows runs fn over rows split in contiguous ranges of at least
// minRows rows on the default pool (see Pool.Rows): for the elementwise
// passes of a model, between the kernels.
func ParallelRows(rows, minRows int, fn func(r0, r1 int)) {
	defaultImpl().pool.Rows(rows, minRows, fn)
}
