package mem

import "github.com/reel-video/reel/model/kernels"

// tracer replays a computation's allocations to find its peak heap. The Go
// GC frees nothing the moment it becomes garbage: buffers dropped by the
// previous layer are usually still in the heap while the next layer
// allocates. tracer models exactly that much: garbage from the current and
// the previous layer counts, older garbage is assumed collected.
type tracer struct {
	live, young, old int64
	peak, livePeak   int64
	total            int64 // every byte allocated
}

func (t *tracer) alloc(n int64) {
	t.live += n
	t.total += n
	t.peak = max(t.peak, t.live+t.young+t.old)
	t.livePeak = max(t.livePeak, t.live)
}

func (t *tracer) free(n int64) { t.live -= n; t.young += n }

// layer marks a layer boundary: the garbage of the layer before the one
// that just ended is collected.
func (t *tracer) layer() { t.old, t.young = t.young, 0 }

// churn is a kernel call's temporary memory: total bytes allocated in
// pieces while it runs, at most live of them at once, all garbage after.
func (t *tracer) churn(live, total int64) {
	t.alloc(live)
	t.free(live)
	t.total += total - live
	t.young += total - live
}

// The kernels' own working memory (model/kernels), per goroutine of the
// process's kernel pool: every parallel loop runs on up to Estimator.Threads
// goroutines, and each keeps its own scratch while it runs.

// panelFloats is the most a GEMM or convolution part packs at once: one
// panel of the B operand (the im2col of a convolution, the FP8 weights
// decoded to float32). Every part allocates its own, so `threads` are live
// at once.
const panelFloats = kernels.PanelFloats

// gemmScratch is what a running GEMM or convolution holds beyond its
// operands.
func gemmScratch(threads int) int64 { return f32 * panelFloats * int64(threads) }

// gemmGarbage bounds the panels a GEMM or convolution allocates over the
// call: one per part, and a call on several goroutines is cut into four
// parts per goroutine (kernels.partsPerThread).
func gemmGarbage(threads int) int64 {
	parts := int64(1)
	if threads > 1 {
		parts = 4 * int64(threads)
	}
	return f32 * panelFloats * parts
}

// chanNormScratch is what a running kernels.ChanRMSNormSiLU over n
// positions holds: a float64 sum and a float32 factor per position of each
// goroutine's range, the ranges a quarter of the positions per goroutine
// (the pool cuts four parts per goroutine), so about n/4 positions at once
// whatever the thread count. Over the call it makes 12·n bytes of garbage.
func chanNormScratch(n int64) (live, garbage int64) { return 12 * n / 4, 12 * n }

// attnBlock is kernels' query block: the scores of attnBlock query rows
// against every key exist at once per goroutine.
const attnBlock = 96

// attnScratch is a kernels.AttnScratch after attentions of nq queries over
// nk keys of headDim per head: per goroutine, the head's packed Kᵀ and V
// panels (nk·headDim each, keys rounded up to the widest panel, 32) and one
// block of scores. The scratch is sized by its largest attention and kept
// for its owner's life (a Sample call, a text encode).
func attnScratch(nq, nk, headDim, threads int) int64 {
	k := int64((nk + 31) / 32 * 32)
	per := 2*k*int64(headDim) + int64(min(attnBlock, nq))*int64(nk) + attnBlock
	return f32 * per * int64(threads)
}
