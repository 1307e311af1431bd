package kernels

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkMicroKernel measures the bare full-height micro-kernel on
// L1-resident operands: the ceiling for every GEMM above it.
func BenchmarkMicroKernel(b *testing.B) {
	for _, mk := range allKernels() {
		b.Run(mk.name, func(b *testing.B) {
			const k = 256
			r := rand.New(rand.NewPCG(1, 1))
			a := randSlice(r, mk.mr*k, 1)
			p := randSlice(r, k*mk.nr, 1)
			c := make([]float32, mk.mr*mk.nr)
			for b.Loop() {
				mk.fns[mk.mr](k, &a[0], k, &p[0], mk.nr, &c[0], mk.nr, nil, kAccumulate)
			}
			b.ReportMetric(2*float64(mk.mr*mk.nr*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkPack measures packing one 256×32 panel of a Linear weight.
func BenchmarkPack(b *testing.B) {
	const in, out, kc, nr = 256, 768, 256, 32
	r := rand.New(rand.NewPCG(1, 1))
	ws := map[string]*Weight{
		"f32": NewWeightF32(out, in, randSlice(r, out*in, 1)),
		"fp8": NewWeightFP8(out, in, randFP8(r, out*in), randSlice(r, out, 1)),
	}
	dst := make([]float32, kc*nr)
	for _, name := range []string{"f32", "fp8"} {
		src := ws[name].source()
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				for j0 := 0; j0 < out; j0 += nr {
					src.pack(dst, 0, kc, j0, nr)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(in*out), "ns/elem")
		})
	}
}
