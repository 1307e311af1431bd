package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// linearShapes are the GEMMs of reel-tiny (M tokens × In → Out): the DiT at
// 192 and 768 tokens, the text encoder at 96 tokens, and the VAE decoder's
// convolutions as im2col GEMMs (M = Cout, In = Cin·taps, Out = positions).
var linearShapes = []struct {
	name       string
	m, in, out int
}{
	{"dit192/256x768", 192, 256, 768},
	{"dit192/256x1024", 192, 256, 1024},
	{"dit192/1024x256", 192, 1024, 256},
	{"dit768/256x768", 768, 256, 768},
	{"dit768/256x1024", 768, 256, 1024},
	{"dit768/1024x256", 768, 1024, 256},
	{"text96/256x768", 96, 256, 768},
	{"text96/256x1024", 96, 256, 1024},
	{"text96/1024x256", 96, 1024, 256},
	{"conv/128x3456x256", 128, 3456, 256},
	{"conv/64x1728x2048", 64, 1728, 2048},
	{"conv/32x288x16384", 32, 288, 16384},
}

// BenchmarkLinear measures Linear with float32 and FP8 weights against
// gonum's Sgemm on the same shapes (gonum computes x·Wᵀ with W row-major
// [Out, In], the same operation as Linear with float32 weights).
func BenchmarkLinear(b *testing.B) {
	for _, s := range linearShapes {
		r := rand.New(rand.NewPCG(1, 1))
		x := randSlice(r, s.m*s.in, 1)
		wf := randSlice(r, s.out*s.in, 0.1)
		y := make([]float32, s.m*s.out)
		flops := 2 * float64(s.m) * float64(s.in) * float64(s.out)
		report := func(b *testing.B) {
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
		b.Run(fmt.Sprintf("%s/f32", s.name), func(b *testing.B) {
			w := NewWeightF32(s.out, s.in, wf)
			for b.Loop() {
				Linear(y, x, s.m, w, nil)
			}
			report(b)
		})
		b.Run(fmt.Sprintf("%s/fp8", s.name), func(b *testing.B) {
			w := NewWeightFP8(s.out, s.in, randFP8(r, s.out*s.in), randSlice(r, s.out, 0.01))
			for b.Loop() {
				Linear(y, x, s.m, w, nil)
			}
			report(b)
		})
		b.Run(fmt.Sprintf("%s/gonum", s.name), func(b *testing.B) {
			var impl gonum.Implementation
			for b.Loop() {
				impl.Sgemm(blas.NoTrans, blas.Trans, s.m, s.out, s.in, 1, x, s.in, wf, s.in, 0, y, s.out)
			}
			report(b)
		})
	}
}

// convShapes are the convolutions of reel-tiny's VAE decoder for one chunk
// (Decoder in reel_tiny.py): Cin → Cout, kernel, grid T×H×W.
var convShapes = []struct {
	name                  string
	cin, cout, kt, kh, kw int
	t, h, w               int
}{
	{"conv_in/8-128/3x3x3/4x8x8", 8, 128, 3, 3, 3, 4, 8, 8},
	{"res0/128-128/3x3x3/4x8x8", 128, 128, 3, 3, 3, 4, 8, 8},
	{"up0/128-512/1x3x3/4x8x8", 128, 512, 1, 3, 3, 4, 8, 8},
	{"res1/64-64/3x3x3/8x16x16", 64, 64, 3, 3, 3, 8, 16, 16},
	{"up1/64-256/1x3x3/8x16x16", 64, 256, 1, 3, 3, 8, 16, 16},
	{"res2/32-32/1x3x3/16x32x32", 32, 32, 1, 3, 3, 16, 32, 32},
	{"up2/32-64/1x3x3/16x32x32", 32, 64, 1, 3, 3, 16, 32, 32},
	{"conv_out/16-3/1x3x3/16x64x64", 16, 3, 1, 3, 3, 16, 64, 64},
}

// BenchmarkConv3D measures Conv3D on the decoder's layers, in GFLOP/s of
// the direct convolution (2·Cout·Cin·taps per output position, padding
// taps included, as the GEMM formulation computes them).
func BenchmarkConv3D(b *testing.B) {
	for _, s := range convShapes {
		r := rand.New(rand.NewPCG(2, 2))
		k := s.cin * s.kt * s.kh * s.kw
		n := s.t * s.h * s.w
		cw := NewConvWeight(s.cout, s.cin, s.kt, s.kh, s.kw, randSlice(r, s.cout*k, 0.1), randSlice(r, s.cout, 0.1))
		in := randSlice(r, s.cin*n, 1)
		out := make([]float32, s.cout*n)
		flops := 2 * float64(s.cout) * float64(k) * float64(n)
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				Conv3D(out, in, s.t, s.h, s.w, cw)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkAttention measures Attention on the DiT's self- and
// cross-attention shapes (4 heads of 64; text context of 96 tokens, a
// third of it masked), in GFLOP/s of the two products.
func BenchmarkAttention(b *testing.B) {
	for _, s := range []struct {
		name   string
		nq, nk int
		masked bool
	}{
		{"self192", 192, 192, false},
		{"cross192x96", 192, 96, true},
		{"self768", 768, 768, false},
		{"cross768x96", 768, 96, true},
	} {
		r := rand.New(rand.NewPCG(3, 3))
		const heads, hd = 4, 64
		d := heads * hd
		q, k, v := randSlice(r, s.nq*3*d, 1), randSlice(r, s.nk*3*d, 1), randSlice(r, s.nk*3*d, 1)
		out := make([]float32, s.nq*d)
		p := AttnParams{NQ: s.nq, NK: s.nk, Heads: heads, HeadDim: hd, QStride: 3 * d, KStride: 3 * d, VStride: 3 * d, OStride: d}
		if s.masked {
			p.KeyMask = make([]bool, s.nk)
			for j := range p.KeyMask {
				p.KeyMask[j] = j < 2*s.nk/3
			}
		}
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				Attention(out, q, k, v, p)
			}
			b.ReportMetric(4*float64(s.nq*s.nk*d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
