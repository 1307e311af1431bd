package model

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/reel-video/reel/model/kernels"
)

// parallelFor runs fn(0..n-1) on up to GOMAXPROCS goroutines. Tasks must be
// independent; results are identical to a serial loop.
func parallelFor(n int, fn func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// attnJob is one multi-head attention over one sequence.
type attnJob struct {
	out, q, k, v []float32
	p            kernels.AttnParams
}

// attention runs the jobs with every (job, head) pair as its own task, so
// the heads of all sequences spread over the cores. Heads are independent,
// so the result is bit-identical to one kernels.Attention call per job.
func attention(jobs []attnJob) {
	heads := jobs[0].p.Heads
	parallelFor(len(jobs)*heads, func(i int) {
		j, h := &jobs[i/heads], i%heads
		o := h * j.p.HeadDim
		p := j.p
		p.Heads = 1
		kernels.Attention(j.out[o:], j.q[o:], j.k[o:], j.v[o:], p)
	})
}
