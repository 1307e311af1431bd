package model

import (
	"github.com/reel-video/reel/model/kernels"
)

// textCond is what the DiT needs from one text embedding, computed once per
// Sample call because the text does not change across steps: each block's
// cross-attention keys and values kv2(cap_fc2(gelu(cap_fc1(text)))), with
// the keys already RMS-normed, and the key mask.
type textCond struct {
	kv   [][]float32 // per block [M, 2d]: keys in [:, :d], values in [:, d:]
	mask []bool      // [M]
}

func (m *dit) prepareText(e *TextEmbedding) *textCond {
	d, hd := m.d, m.d/m.heads
	n := len(e.Mask)
	eps := float32(m.cfg.NormEps)
	c1 := make([]float32, n*d)
	m.capFC1.rows(c1, e.Hidden, n)
	kernels.GELUTanh(c1)
	ctx := make([]float32, n*d)
	m.capFC2.rows(ctx, c1, n)
	tc := &textCond{mask: e.Mask}
	for _, b := range m.blocks {
		kv := make([]float32, n*2*d)
		kernels.Linear(kv, ctx, n, b.kv2, nil)
		for i := 0; i < n; i++ {
			kernels.RMSNorm(kv[i*2*d:], m.heads, hd, hd, b.kNorm2, eps)
		}
		tc.kv = append(tc.kv, kv)
	}
	return tc
}

// ditWork holds every buffer of a forward pass over b sequences (one per
// text condition) of n tokens, so the steps of a Sample call allocate
// nothing. Not safe for concurrent use; each Sample call has its own.
type ditWork struct {
	b, n, t     int
	rope        *ropeTable
	tok         []float32           // [n, pin]
	x, y, a, o  []float32           // [b·n, d]
	qkv         []float32           // [b·n, 3d]
	h           []float32           // [b·n, 4d]
	p           []float32           // [b·n, pin]
	temb0, temb []float32           // [256], [d]
	t1          []float32           // [d]
	mod         []float32           // [6d] adaln(silu(temb)), shared by the blocks
	blk         []float32           // [6d] mod + table of the current block
	jobs        []attnJob           // attention calls of one layer, reused
	attn        kernels.AttnScratch // attention working memory, reused by every layer and step
}

func (m *dit) newWork(b, t int) *ditWork {
	d := m.d
	gh, gw := m.cfg.LatentHeight()/patchSide, m.cfg.LatentWidth()/patchSide // token grid
	n := t * gh * gw
	pin := m.cfg.LatentChannels * 4
	rows := b * n
	return &ditWork{
		b: b, n: n, t: t,
		rope:  newRopeTable(t, gh, gw, m.cfg.RopeSplit, m.cfg.RopeBase),
		tok:   make([]float32, n*pin),
		x:     make([]float32, rows*d),
		y:     make([]float32, rows*d),
		a:     make([]float32, rows*d),
		o:     make([]float32, rows*d),
		qkv:   make([]float32, rows*3*d),
		h:     make([]float32, rows*4*d),
		p:     make([]float32, rows*pin),
		temb0: make([]float32, timestepDim),
		temb:  make([]float32, d),
		t1:    make([]float32, d),
		mod:   make([]float32, 6*d),
		blk:   make([]float32, 6*d),
		jobs:  make([]attnJob, 0, b),
	}
}

// forward computes the velocity for latent z [C, T, H, W] at sigma under
// each text condition: out[i] (len C·T·H·W) receives v(z, sigma, conds[i]).
// The conditions are stacked into one batch of len(conds)·n rows so every
// Linear runs as a single larger GEMM; only attention is per sequence.
func (m *dit) forward(w *ditWork, z []float32, sigma float32, conds []*textCond, out [][]float32) {
	d, heads, hd := m.d, m.heads, m.d/m.heads
	n, rows := w.n, w.b*w.n
	pin := m.cfg.LatentChannels * 4
	eps := float32(m.cfg.NormEps)

	// Patch embedding is the same for every condition (block 0 copies it
	// to the other sequences).
	patchify(w.tok, z, m.cfg.LatentChannels, w.t, m.cfg.LatentHeight(), m.cfg.LatentWidth())
	kernels.Linear(w.x[:n*d], w.tok, n, m.patchW, m.patchB)

	// Timestep conditioning (one row): temb and the AdaLN-single vector.
	timestepEmbedding(w.temb0, sigma, timestepDim)
	m.tFC1.row(w.t1, w.temb0)
	kernels.SiLU(w.t1)
	m.tFC2.row(w.temb, w.t1)
	copy(w.t1, w.temb)
	kernels.SiLU(w.t1)
	m.adaln.row(w.mod, w.t1)

	for bi := range m.blocks {
		blk := &m.blocks[bi]
		for i := range w.blk {
			w.blk[i] = w.mod[i] + blk.table[i]
		}
		shift1, scale1, gate1 := w.blk[0:d], w.blk[d:2*d], w.blk[2*d:3*d]
		shift2, scale2, gate2 := w.blk[3*d:4*d], w.blk[4*d:5*d], w.blk[5*d:6*d]

		// Self-attention with QK-RMSNorm and 3-D RoPE. Until the first
		// cross-attention every sequence holds the same tokens, so block 0
		// computes its self-attention once and copies the result.
		seqs := w.b
		if bi == 0 {
			seqs = 1
		}
		sr := seqs * n
		modulate(w.y, w.x, sr, d, scale1, shift1, eps)
		kernels.Linear(w.qkv, w.y, sr, blk.qkv, nil)
		kernels.ParallelRows(sr, rowGrain, func(r0, r1 int) {
			for i := r0; i < r1; i++ {
				r := w.qkv[i*3*d:]
				kernels.RMSNorm(r, heads, hd, hd, blk.qNorm1, eps)
				kernels.RMSNorm(r[d:], heads, hd, hd, blk.kNorm1, eps)
			}
			w.rope.apply(w.qkv[r0*3*d:], r0, r1, n, heads, 3*d)
			w.rope.apply(w.qkv[r0*3*d+d:], r0, r1, n, heads, 3*d)
		})
		jobs := w.jobs[:0]
		for b := 0; b < seqs; b++ {
			q := w.qkv[b*n*3*d:]
			jobs = append(jobs, attnJob{out: w.a[b*n*d:], q: q, k: q[d:], v: q[2*d:], p: kernels.AttnParams{
				NQ: n, NK: n, Heads: heads, HeadDim: hd,
				QStride: 3 * d, KStride: 3 * d, VStride: 3 * d, OStride: d,
			}})
		}
		attention(&w.attn, jobs)
		kernels.LinearResidual(w.x, w.o, w.a, sr, blk.out1, gate1)
		for b := seqs; b < w.b; b++ {
			copy(w.x[b*n*d:(b+1)*n*d], w.x[:n*d])
		}

		// Cross-attention to the text (no gate, Step-Video style).
		kernels.ParallelRows(rows, rowGrain, func(r0, r1 int) {
			copy(w.y[r0*d:r1*d], w.x[r0*d:r1*d])
			kernels.LayerNorm(w.y[r0*d:], r1-r0, d, blk.norm2W, blk.norm2B, eps)
		})
		q := w.qkv[:rows*d]
		kernels.Linear(q, w.y, rows, blk.q2, nil)
		kernels.ParallelRows(rows, rowGrain, func(r0, r1 int) {
			kernels.RMSNorm(q[r0*d:], (r1-r0)*heads, hd, hd, blk.qNorm2, eps)
		})
		jobs = w.jobs[:0]
		for b, c := range conds {
			kv := c.kv[bi]
			jobs = append(jobs, attnJob{out: w.a[b*n*d:], q: q[b*n*d:], k: kv, v: kv[d:], p: kernels.AttnParams{
				NQ: n, NK: len(c.mask), Heads: heads, HeadDim: hd,
				QStride: d, KStride: 2 * d, VStride: 2 * d, OStride: d, KeyMask: c.mask,
			}})
		}
		attention(&w.attn, jobs)
		kernels.LinearResidual(w.x, w.o, w.a, rows, blk.out2, nil)

		// Feed-forward.
		modulate(w.y, w.x, rows, d, scale2, shift2, eps)
		kernels.LinearGELU(w.h, w.y, rows, blk.fc1, nil)
		kernels.LinearResidual(w.x, w.o, w.h, rows, blk.fc2, gate2)
	}

	// Final layer: shift, scale = final_table + temb.
	shift, scale := w.blk[:d], w.blk[d:2*d]
	for i := 0; i < d; i++ {
		shift[i] = m.finalTable[i] + w.temb[i]
		scale[i] = m.finalTable[d+i] + w.temb[i]
	}
	modulate(w.y, w.x, rows, d, scale, shift, eps)
	kernels.Linear(w.p, w.y, rows, m.projW, m.projB)
	for b := range conds {
		unpatchify(out[b], w.p[b*n*pin:(b+1)*n*pin], m.cfg.LatentChannels, w.t, m.cfg.LatentHeight(), m.cfg.LatentWidth())
	}
}

// rowGrain is the fewest token rows an elementwise pass gives one
// goroutine: below it, waking a worker costs more than the rows.
const rowGrain = 16

// modulate writes y = LN(x)·(1+scale) + shift (LayerNorm without affine),
// rounding like PyTorch: (1+scale) first, then the product, then the sum.
// Rows are split over the pool.
func modulate(y, x []float32, rows, d int, scale, shift []float32, eps float32) {
	kernels.ParallelRows(rows, rowGrain, func(r0, r1 int) {
		copy(y[r0*d:r1*d], x[r0*d:r1*d])
		kernels.LayerNorm(y[r0*d:], r1-r0, d, nil, nil, eps)
		for r := r0; r < r1; r++ {
			kernels.ScaleShift(y[r*d:(r+1)*d], scale, shift)
		}
	})
}
