package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// linearShapes are the GEMMs of reel-tiny (M tokens × In → Out): the DiT at
// 192 tokens (one 48-frame sequence), 384 (cond and uncond batched, as the
// model runs it) and 768; the text encoder at 96 tokens; and three VAE
// decoder convolutions as GEMMs (M = positions, In = Cin·taps, Out = Cout).
var linearShapes = []struct {
	name       string
	m, in, out int
}{
	{"dit192/256x768", 192, 256, 768},
	{"dit192/256x1024", 192, 256, 1024},
	{"dit192/1024x256", 192, 1024, 256},
	{"dit384/256x768", 384, 256, 768},
	{"dit384/256x1024", 384, 256, 1024},
	{"dit384/1024x256", 384, 1024, 256},
	{"dit768/256x768", 768, 256, 768},
	{"dit768/256x1024", 768, 256, 1024},
	{"dit768/1024x256", 768, 1024, 256},
	{"text96/256x768", 96, 256, 768},
	{"text96/256x1024", 96, 256, 1024},
	{"text96/1024x256", 96, 1024, 256},
	{"conv-res0/256x3456x128", 256, 3456, 128},
	{"conv-res1/2048x1728x64", 2048, 1728, 64},
	{"conv-up1/2048x576x256", 2048, 576, 256},
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
		// The FP8 product as a CPU without AVX512-BF16 runs it: the
		// float32 kernel on pair-swapped codes (bf16.go), the same bits.
		b.Run(fmt.Sprintf("%s/fp8-fallback", s.name), func(b *testing.B) {
			im := kernelImpl(defaultImpl().mk)
			w := newWeightFP8(im, s.out, s.in, randFP8(r, s.out*s.in), randSlice(r, s.out, 0.01))
			for b.Loop() {
				linear(im, y, x, s.m, w, nil, nil)
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
// taps included, as the GEMM formulation computes them): "ours" is the
// path NewConvWeight picks, "im2col" and "winograd" each path forced
// (Winograd on the 3×3 layers only), so the choice of winogradMinWork
// can be checked layer by layer.
func BenchmarkConv3D(b *testing.B) {
	for _, s := range convShapes {
		r := rand.New(rand.NewPCG(2, 2))
		k := s.cin * s.kt * s.kh * s.kw
		n := s.t * s.h * s.w
		w := randSlice(r, s.cout*k, 0.1)
		bias := randSlice(r, s.cout, 0.1)
		in := randSlice(r, s.cin*n, 1)
		out := make([]float32, s.cout*n)
		flops := 2 * float64(s.cout) * float64(k) * float64(n)
		paths := []struct {
			name string
			cw   *ConvWeight
		}{
			{"ours", NewConvWeight(s.cout, s.cin, s.kt, s.kh, s.kw, w, bias)},
			{"im2col", newConvWeight(s.cout, s.cin, s.kt, s.kh, s.kw, w, bias, false)},
		}
		if s.kh == 3 && s.kw == 3 {
			paths = append(paths, struct {
				name string
				cw   *ConvWeight
			}{"winograd", newConvWeight(s.cout, s.cin, s.kt, s.kh, s.kw, w, bias, true)})
		}
		for _, p := range paths {
			b.Run(s.name+"/"+p.name, func(b *testing.B) {
				for b.Loop() {
					Conv3D(out, in, s.t, s.h, s.w, p.cw)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
		// gonum: only its Sgemm of W[Cout, K] by a ready im2col [K, P]
		// (built outside the timed loop), so the im2col is free for it.
		col := im2col(in, s.cin, s.kt, s.kh, s.kw, s.t, s.h, s.w)
		b.Run(s.name+"/gonum", func(b *testing.B) {
			var impl gonum.Implementation
			for b.Loop() {
				impl.Sgemm(blas.NoTrans, blas.NoTrans, s.cout, n, k, 1, w, k, col, n, 0, out, n)
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
		{"self3072", 3072, 3072, false}, // 768 frames: 192 latent frames × 16 tokens
		{"cross3072x96", 3072, 96, true},
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

// im2col materialises the [Cin·taps, T·H·W] matrix of a Conv3D (zero
// padding k/2) for the gonum baseline, through the same packer Conv3D uses.
func im2col(in []float32, cin, kt, kh, kw, t, h, w int) []float32 {
	k, n := cin*kt*kh*kw, t*h*w
	cw := &ConvWeight{Cout: 1, Cin: cin, KT: kt, KH: kh, KW: kw}
	src := newConvSource(in, cw, t, h, w)
	col := make([]float32, k*n)
	panel := make([]float32, k*32)
	for j0 := 0; j0 < n; j0 += 32 {
		src.pack(panel, 0, k, j0, 32)
		for kk := 0; kk < k; kk++ {
			copy(col[kk*n+j0:kk*n+min(j0+32, n)], panel[kk*32:])
		}
	}
	return col
}
