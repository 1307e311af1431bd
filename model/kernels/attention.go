package kernels

import "math"

// AttnParams describes a multi-head attention over token-major buffers:
// head h of query token i is q[i*QStride + h*HeadDim : ... + HeadDim], and the
// same for k, v and out. KeyMask, when non-nil, has NK entries; false drops
// that key (PyTorch masked_fill(-inf)).
type AttnParams struct {
	NQ, NK, Heads, HeadDim             int
	QStride, KStride, VStride, OStride int
	KeyMask                            []bool
}

// attnBlock is the number of query rows per score block: a multiple of the
// micro-kernels' 6 rows, and small enough that the block's scores
// (attnBlock × NK floats) stay in L2.
const attnBlock = 96

// Attention computes out = softmax(q·kᵀ/sqrt(HeadDim))·v per head with
// fresh scratch memory; see AttnScratch.Attention.
func Attention(out, q, k, v []float32, p AttnParams) {
	new(AttnScratch).batch(defaultImpl(), []AttnCall{{Out: out, Q: q, K: k, V: v, P: p}})
}

// AttnCall is one attention of a batch: the arguments of Attention.
type AttnCall struct {
	Out, Q, K, V []float32
	P            AttnParams
}

// AttnScratch is the working memory of Attention calls (packed Kᵀ and V
// and a block of scores per goroutine). A caller that runs many
// attentions, like a sampler's steps, keeps one and reuses it so the calls
// do not allocate it again each time. The zero value is ready; not safe
// for concurrent use.
type AttnScratch struct {
	per []*attnScratch // one per worker goroutine
}

// Attention computes out = softmax(q·kᵀ/sqrt(HeadDim))·v per head.
//
// Work is split into (head, range of query blocks) items shared by up to
// GOMAXPROCS goroutines of the pool; there are just enough ranges per head
// to give every goroutine an item. An item packs its head's Kᵀ and V
// panels once, then for each block of attnBlock queries computes the
// scores S = Q·Kᵀ with the GEMM micro-kernel, takes the softmax of each row
// in place, and computes O = P·V with the micro-kernel again, so no more
// than attnBlock rows of scores exist at a time. A row whose keys are all
// masked is NaN, as in PyTorch.
func (s *AttnScratch) Attention(out, q, k, v []float32, p AttnParams) {
	s.batch(defaultImpl(), []AttnCall{{Out: out, Q: q, K: k, V: v, P: p}})
}

// Batch computes several independent attentions (the sequences of a
// batch) as one parallel loop over all their items, so the goroutines
// balance across the calls instead of meeting at the end of each.
// Results equal separate Attention calls'.
func (s *AttnScratch) Batch(calls []AttnCall) {
	s.batch(defaultImpl(), calls)
}

// attnItem is one (call, head, query-block range) unit of a batch.
type attnItem struct {
	call, head, b0, b1 int
}

// batch is Batch with implementation im.
func (s *AttnScratch) batch(im *impl, calls []AttnCall) {
	heads, flops := 0, 0
	for i := range calls {
		p := &calls[i].P
		if p.NQ == 0 || p.Heads == 0 || p.HeadDim == 0 {
			continue
		}
		checkAttn(calls[i].Out, calls[i].Q, calls[i].K, calls[i].V, p)
		heads += p.Heads
		flops += 4 * p.NQ * p.NK * p.HeadDim * p.Heads
	}
	if heads == 0 {
		return
	}
	threads := im.pool.Width(heads * ((calls[0].P.NQ + attnBlock - 1) / attnBlock))
	if flops < minParallelFlops {
		threads = 1
	}
	var items []attnItem
	dropped := make([][]int, len(calls)) // masked keys per call
	for c := range calls {
		p := &calls[c].P
		if p.NQ == 0 || p.Heads == 0 || p.HeadDim == 0 {
			continue
		}
		blocks := (p.NQ + attnBlock - 1) / attnBlock
		groups := min(blocks, (threads+heads-1)/heads) // block ranges per head
		for h := range p.Heads {
			for g := range groups {
				items = append(items, attnItem{call: c, head: h, b0: blocks * g / groups, b1: blocks * (g + 1) / groups})
			}
		}
		for j, keep := range p.KeyMask {
			if !keep {
				dropped[c] = append(dropped[c], j)
			}
		}
	}
	workers := min(threads, len(items))
	for len(s.per) < workers {
		s.per = append(s.per, new(attnScratch))
	}
	im.pool.For(workers, len(items), func(slot, i int) {
		it := items[i]
		a, c := s.per[slot], &calls[it.call]
		a.reset(im, &c.P)
		a.head(c.Out, c.Q, c.K, c.V, &c.P, dropped[it.call], it.head, it.b0, it.b1)
	})
}

// checkAttn panics when the buffers are too small for p.
func checkAttn(out, q, k, v []float32, p *AttnParams) {
	span := p.Heads * p.HeadDim // one token's heads
	if len(q) < (p.NQ-1)*p.QStride+span || len(out) < (p.NQ-1)*p.OStride+span ||
		(p.NK > 0 && (len(k) < (p.NK-1)*p.KStride+span || len(v) < (p.NK-1)*p.VStride+span)) ||
		(p.KeyMask != nil && len(p.KeyMask) != p.NK) {
		panic("kernels: Attention: bad sizes")
	}
}

// attnScratch is one goroutine's working memory.
type attnScratch struct {
	mk      microKernel
	vec     *vecKernels // softmax loops
	kT, vP  []float32   // packed panels of Kᵀ (HeadDim × NK) and V (NK × HeadDim)
	kPanels int         // panels of Kᵀ (NK / nr, rounded up)
	vPanels int         // panels of V (HeadDim / nr, rounded up)
	scores  []float32   // attnBlock × NK
	inv     []float32   // 1/Σ per query row of a block
}

// reset sizes the scratch for p with implementation im, keeping its
// buffers when they are large enough.
func (a *attnScratch) reset(im *impl, p *AttnParams) {
	mk := im.mk
	nr := mk.nr
	a.vec = &im.vec
	a.mk, a.kPanels, a.vPanels = mk, (p.NK+nr-1)/nr, (p.HeadDim+nr-1)/nr
	a.kT = resize(a.kT, a.kPanels*p.HeadDim*nr)
	a.vP = resize(a.vP, a.vPanels*p.NK*nr)
	a.scores = resize(a.scores, min(attnBlock, p.NQ)*p.NK)
	a.inv = resize(a.inv, attnBlock)
}

// resize returns buf with length n, reallocated only when it is too
// small. The contents are not kept: every user overwrites them.
func resize(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// head computes head h for the query blocks [b0, b1).
func (a *attnScratch) head(out, q, k, v []float32, p *AttnParams, dropped []int, h, b0, b1 int) {
	mk, nr := a.mk, a.mk.nr
	ho := h * p.HeadDim
	nk := p.NK
	kt := transposedRows{data: k, off: ho, stride: p.KStride, rows: nk}
	for j := 0; j < a.kPanels; j++ {
		kt.pack(a.kT[j*p.HeadDim*nr:], 0, p.HeadDim, j*nr, nr)
	}
	vs := strideRows{data: v, off: ho, stride: p.VStride, cols: p.HeadDim}
	for j := 0; j < a.vPanels; j++ {
		vs.pack(a.vP[j*nk*nr:], 0, nk, j*nr, nr)
	}
	kSrc := prepacked{buf: a.kT, k: p.HeadDim, n: nk, nr: nr}
	vSrc := prepacked{buf: a.vP, k: nk, n: p.HeadDim, nr: nr}
	scale := float32(1 / math.Sqrt(float64(p.HeadDim)))
	for b := b0; b < b1; b++ {
		i0 := b * attnBlock
		rows := min(attnBlock, p.NQ-i0)
		tiles := rowTiles(rows, mk.mr)
		s := a.scores[:rows*nk]
		o := out[i0*p.OStride+ho:]
		if nk == 0 {
			for r := range rows {
				clear(o[r*p.OStride : r*p.OStride+p.HeadDim]) // PyTorch: an empty sum
			}
			continue
		}
		qk := gemm{
			m: rows, n: nk, k: p.HeadDim,
			a: q[i0*p.QStride+ho:], lda: p.QStride,
			c: s, ldc: nk,
			source: func() panelSource { return kSrc },
		}
		qk.worker(mk, 0, tiles, 0, a.kPanels)
		for r := range rows {
			a.inv[r] = softmaxRow(a.vec, s[r*nk:(r+1)*nk], scale, dropped)
		}
		pv := gemm{
			m: rows, n: p.HeadDim, k: nk,
			a: s, lda: nk,
			c: o, ldc: p.OStride,
			source: func() panelSource { return vSrc },
		}
		pv.worker(mk, 0, tiles, 0, a.vPanels)
		for r := range rows {
			row := o[r*p.OStride : r*p.OStride+p.HeadDim]
			for d := range row {
				row[d] *= a.inv[r]
			}
		}
	}
}

// softmaxRow replaces the scores s by the unnormalised softmax numerators
// exp(s·scale - max), zero for the dropped (masked) keys, and returns 1/Σ
// (NaN when every key is dropped). Dropped scores are first set to -Inf so
// they cannot be the maximum, then to max-80, whose exp is a normal float
// ≈ 1.8e-35, so the vector exp neither meets -Inf nor makes subnormals;
// they are zeroed after, which leaves the float32 sum unchanged.
func softmaxRow(vec *vecKernels, s []float32, scale float32, dropped []int) float32 {
	ninf := float32(math.Inf(-1))
	for _, j := range dropped {
		s[j] = ninf
	}
	mx := scaleMax(vec, s, scale)
	if mx == ninf {
		clear(s)
		return float32(math.NaN())
	}
	for _, j := range dropped {
		s[j] = mx - 80
	}
	sum := expSum(vec, s, mx)
	for _, j := range dropped {
		s[j] = 0
	}
	return 1 / sum
}

// attention is Attention with implementation im.
func (s *AttnScratch) attention(im *impl, out, q, k, v []float32, p AttnParams) {
	s.batch(im, []AttnCall{{Out: out, Q: q, K: k, V: v, P: p}})
}
