package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// attn64 is attention in float64 (exact softmax and sums).
func attn64(q, k, v []float32, p AttnParams) []float64 {
	out := make([]float64, p.NQ*p.OStride)
	s := make([]float64, p.NK)
	for h := 0; h < p.Heads; h++ {
		ho := h * p.HeadDim
		for i := 0; i < p.NQ; i++ {
			mx := math.Inf(-1)
			for j := 0; j < p.NK; j++ {
				s[j] = math.Inf(-1)
				if p.KeyMask != nil && !p.KeyMask[j] {
					continue
				}
				var acc float64
				for d := 0; d < p.HeadDim; d++ {
					acc += float64(q[i*p.QStride+ho+d]) * float64(k[j*p.KStride+ho+d])
				}
				s[j] = acc / math.Sqrt(float64(p.HeadDim))
				mx = math.Max(mx, s[j])
			}
			var sum float64
			for j := range s {
				s[j] = math.Exp(s[j] - mx)
				sum += s[j]
			}
			for d := 0; d < p.HeadDim; d++ {
				var acc float64
				for j := 0; j < p.NK; j++ {
					if s[j] != 0 {
						acc += s[j] / sum * float64(v[j*p.VStride+ho+d])
					}
				}
				out[i*p.OStride+ho+d] = acc
			}
		}
	}
	return out
}

func checkAttention(t *testing.T, im *impl, r *rand.Rand, p AttnParams, qscale float32) {
	t.Helper()
	q := randSlice(r, p.NQ*p.QStride, qscale)
	k := randSlice(r, p.NK*p.KStride, 1)
	v := randSlice(r, p.NK*p.VStride, 1)
	out := randSlice(r, p.NQ*p.OStride, 1)
	pad := append([]float32(nil), out...)
	new(AttnScratch).attention(im, out, q, k, v, p)
	want := attn64(q, k, v, p)
	ref := append([]float32(nil), pad...)
	refAttention(ref, q, k, v, p)
	for i := 0; i < p.NQ; i++ {
		for c := 0; c < p.OStride; c++ {
			x := i*p.OStride + c
			if c >= p.Heads*p.HeadDim {
				if out[x] != pad[x] {
					t.Fatalf("%+v: wrote outside the heads at %d", p, x)
				}
				continue
			}
			// Outputs are convex combinations of v (|v| ≤ 1): absolute
			// error a few float32 ulps of 1.
			if d := math.Abs(float64(out[x]) - want[x]); !(d <= 2e-6) {
				t.Fatalf("%+v: out[%d][%d] = %g, want %g (naive %g)", p, i, c, out[x], want[x], ref[x])
			}
		}
	}
}

func TestAttention(t *testing.T) {
	forEachKernel(t, func(t *testing.T, im *impl) {
		r := rand.New(rand.NewPCG(9, 9))
		for _, c := range []struct {
			nq, nk, heads, hd, extra int
			masked                   bool
		}{
			{192, 192, 4, 64, 0, false},
			{192, 96, 4, 64, 0, true},
			{100, 37, 3, 16, 5, true},
			{1, 1, 1, 1, 0, false},
			{7, 13, 2, 5, 3, true},
			{250, 11, 1, 33, 1, false},
			{5, 0, 2, 4, 0, false},
		} {
			mk := func(w int) int { return w*c.heads*c.hd + c.extra*(w+1) }
			p := AttnParams{NQ: c.nq, NK: c.nk, Heads: c.heads, HeadDim: c.hd,
				QStride: mk(1), KStride: mk(2), VStride: mk(1), OStride: c.heads*c.hd + c.extra}
			if c.masked {
				p.KeyMask = make([]bool, c.nk)
				for j := range p.KeyMask {
					p.KeyMask[j] = j < c.nk/2+1 || r.IntN(3) == 0
				}
			}
			checkAttention(t, im, r, p, 3)
		}
	})
}

func TestAttentionAllMasked(t *testing.T) {
	p := AttnParams{NQ: 3, NK: 4, Heads: 1, HeadDim: 2, QStride: 2, KStride: 2, VStride: 2, OStride: 2,
		KeyMask: make([]bool, 4)}
	out := make([]float32, 6)
	Attention(out, make([]float32, 6), make([]float32, 8), make([]float32, 8), p)
	for _, x := range out {
		if !math.IsNaN(float64(x)) {
			t.Fatalf("fully masked row = %v, want NaN like PyTorch", out)
		}
	}
}

// TestAttnScratchReuse runs one AttnScratch through shapes that grow,
// shrink and change masking, and under every kernel in turn: each result
// must be bit-identical to Attention with fresh scratch, so nothing left in
// the reused buffers leaks into a later call.
func TestAttnScratchReuse(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var s AttnScratch
	for _, mk := range allKernels() {
		im := kernelImpl(mk)
		for _, c := range []struct {
			nq, nk, heads, hd int
			masked            bool
		}{
			{192, 192, 4, 64, false},
			{7, 13, 2, 5, true},
			{250, 96, 4, 64, true},
			{3, 1, 1, 33, false},
			{192, 96, 4, 64, false},
		} {
			d := c.heads * c.hd
			p := AttnParams{NQ: c.nq, NK: c.nk, Heads: c.heads, HeadDim: c.hd, QStride: d, KStride: d, VStride: d, OStride: d}
			if c.masked {
				p.KeyMask = make([]bool, c.nk)
				for j := range p.KeyMask {
					p.KeyMask[j] = j == 0 || r.IntN(2) == 0
				}
			}
			q, k, v := randSlice(r, c.nq*d, 3), randSlice(r, c.nk*d, 1), randSlice(r, c.nk*d, 1)
			got, want := make([]float32, c.nq*d), make([]float32, c.nq*d)
			s.attention(im, got, q, k, v, p)
			new(AttnScratch).attention(im, want, q, k, v, p)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s %+v: reused scratch out[%d] = %g, fresh %g", mk.name, c, i, got[i], want[i])
				}
			}
		}
	}
}

// TestAttentionBatch checks that a batch of attentions with different
// shapes and masks gives exactly the separate calls' results.
func TestAttentionBatch(t *testing.T) {
	forEachKernel(t, func(t *testing.T, im *impl) {
		r := rand.New(rand.NewPCG(5, 9))
		var calls []AttnCall
		var want [][]float32
		for _, c := range []struct{ nq, nk, heads, hd int }{{192, 192, 4, 64}, {192, 96, 4, 64}, {7, 13, 2, 5}, {300, 40, 4, 64}} {
			d := c.heads * c.hd
			p := AttnParams{NQ: c.nq, NK: c.nk, Heads: c.heads, HeadDim: c.hd, QStride: d, KStride: d, VStride: d, OStride: d,
				KeyMask: make([]bool, c.nk)}
			for j := range p.KeyMask {
				p.KeyMask[j] = j == 0 || r.IntN(3) > 0
			}
			q, k, v := randSlice(r, c.nq*d, 3), randSlice(r, c.nk*d, 1), randSlice(r, c.nk*d, 1)
			w := make([]float32, c.nq*d)
			new(AttnScratch).attention(im, w, q, k, v, p)
			want = append(want, w)
			calls = append(calls, AttnCall{Out: make([]float32, c.nq*d), Q: q, K: k, V: v, P: p})
		}
		new(AttnScratch).batch(im, calls)
		for i, c := range calls {
			checkClose(t, fmt.Sprintf("call %d", i), c.Out, want[i], 0, 0)
		}
	})
}
