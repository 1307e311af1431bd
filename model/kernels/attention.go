package kernels

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// AttnParams describes a multi-head attention over token-major buffers:
// head h of query token i is q[i*QStride + h*HeadDim : ... + HeadDim], and the
// same for k, v and out. KeyMask, when non-nil, has NK entries; false drops
// that key (PyTorch masked_fill(-inf)).
type AttnParams struct {
	NQ, NK, Heads, HeadDim             int
	QStride, KStride, VStride, OStride int
	KeyMask                            []bool
}

// attnBlock is the number of query rows per work unit: a multiple of the
// micro-kernels' 6 rows, and small enough that the unit's score block
// (attnBlock × NK floats) stays in L2.
const attnBlock = 96

// Attention computes out = softmax(q·kᵀ/sqrt(HeadDim))·v per head.
//
// Work is split into (head, block of query rows) units shared by up to
// GOMAXPROCS goroutines. A unit computes its scores S = Q·Kᵀ with the GEMM
// micro-kernel, takes the softmax of each row in place, and then O = P·V
// with the micro-kernel again. A row whose keys are all masked is NaN, as
// in PyTorch.
func Attention(out, q, k, v []float32, p AttnParams) {
	if p.NQ == 0 || p.Heads == 0 || p.HeadDim == 0 {
		return
	}
	span := (p.Heads-1)*p.HeadDim + p.HeadDim
	if len(q) < (p.NQ-1)*p.QStride+span || len(out) < (p.NQ-1)*p.OStride+span ||
		(p.NK > 0 && (len(k) < (p.NK-1)*p.KStride+span || len(v) < (p.NK-1)*p.VStride+span)) ||
		(p.KeyMask != nil && len(p.KeyMask) != p.NK) {
		panic("kernels: Attention: bad sizes")
	}
	blocks := (p.NQ + attnBlock - 1) / attnBlock
	units := p.Heads * blocks
	workers := min(runtime.GOMAXPROCS(0), units)
	if 4*p.NQ*p.NK*p.HeadDim*p.Heads < minParallelFlops {
		workers = 1
	}
	var dropped []int // masked keys
	for j, keep := range p.KeyMask {
		if !keep {
			dropped = append(dropped, j)
		}
	}
	var next atomic.Int64
	work := func() {
		mk := kernel
		scores := make([]float32, min(attnBlock, p.NQ)*p.NK)
		panel := make([]float32, max(kcFor(p.HeadDim, mk.nr), kcFor(p.NK, mk.nr))*mk.nr)
		inv := make([]float32, attnBlock)
		for {
			u := int(next.Add(1) - 1)
			if u >= units {
				return
			}
			h, i0 := u/blocks, (u%blocks)*attnBlock
			attnUnit(mk, out, q, k, v, &p, dropped, h, i0, min(attnBlock, p.NQ-i0), scores, panel, inv)
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}

// attnUnit computes head h for query rows [i0, i0+rows).
// scores, panel and inv are the worker's scratch.
func attnUnit(mk microKernel, out, q, k, v []float32, p *AttnParams, dropped []int, h, i0, rows int, scores, panel, inv []float32) {
	ho := h * p.HeadDim
	nk := p.NK
	s := scores[:rows*nk]
	if nk > 0 {
		qk := gemm{
			m: rows, n: nk, k: p.HeadDim,
			a: q[i0*p.QStride+ho:], lda: p.QStride,
			c: s, ldc: nk,
			panel: panel,
			source: func() panelSource {
				return transposedRows{data: k, off: ho, stride: p.KStride, rows: nk}
			},
		}
		qk.worker(mk, 0, rowTiles(rows, mk.mr), 0, (nk+mk.nr-1)/mk.nr)
	}
	scale := float32(1 / math.Sqrt(float64(p.HeadDim)))
	for r := range rows {
		inv[r] = softmaxRow(s[r*nk:(r+1)*nk], scale, dropped)
	}
	o := out[i0*p.OStride+ho:]
	if nk > 0 {
		pv := gemm{
			m: rows, n: p.HeadDim, k: nk,
			a: s, lda: nk,
			c: o, ldc: p.OStride,
			panel: panel,
			source: func() panelSource {
				return strideRows{data: v, off: ho, stride: p.VStride, cols: p.HeadDim}
			},
		}
		pv.worker(mk, 0, rowTiles(rows, mk.mr), 0, (p.HeadDim+mk.nr-1)/mk.nr)
	}
	for r := range rows {
		row := o[r*p.OStride : r*p.OStride+p.HeadDim]
		if nk == 0 {
			clear(row) // softmax over nothing: PyTorch gives an empty sum
			continue
		}
		for d := range row {
			row[d] *= inv[r]
		}
	}
}

// softmaxRow replaces the scores s by the unnormalised softmax numerators
// exp(s·scale - max), zero for the dropped (masked) keys, and returns 1/Σ
// (NaN when every key is dropped). Dropped scores are first set to -Inf so
// they cannot be the maximum, then to max-80, whose exp is a normal float
// ≈ 1.8e-35, so the vector exp neither meets -Inf nor makes subnormals;
// they are zeroed after, which leaves the float32 sum unchanged.
func softmaxRow(s []float32, scale float32, dropped []int) float32 {
	ninf := float32(math.Inf(-1))
	for _, j := range dropped {
		s[j] = ninf
	}
	mx := scaleMax(s, scale)
	if mx == ninf {
		clear(s)
		return float32(math.NaN())
	}
	for _, j := range dropped {
		s[j] = mx - 80
	}
	sum := expSum(s, mx)
	for _, j := range dropped {
		s[j] = 0
	}
	return 1 / sum
}
