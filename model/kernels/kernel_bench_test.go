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
	if bk := defaultImpl().bf16; bk != nil {
		b.Run(bk.name, func(b *testing.B) {
			const k = 256
			a := make([]uint16, 6*k)
			p := make([]uint16, k*bf16NR)
			for i := range a {
				a[i] = roundBF16(float32(i%7) - 3)
			}
			for i := range p {
				p[i] = roundBF16(float32(i%5) - 2)
			}
			c := make([]float32, 6*bf16NR)
			one := make([]float32, bf16NR)
			for b.Loop() {
				bk.fns[6](k/2, &a[0], k, &p[0], &c[0], bf16NR, &one[0], nil, kAccumulate)
			}
			b.ReportMetric(2*float64(6*bf16NR*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkPack measures packing the 256×32 panels of a Linear weight: a
// float32 one (a copy), an FP8 one decoded to float32 (the store where
// there is no BF16 kernel) and, where there is, an FP8 one decoded to BF16.
func BenchmarkPack(b *testing.B) {
	const in, out, kc = 256, 768, 256
	r := rand.New(rand.NewPCG(1, 1))
	codes, scale := randFP8(r, out*in), randSlice(r, out, 1)
	plain := kernelImpl(defaultImpl().mk) // no BF16 kernel: FP8 codes for the float32 kernels
	nr := plain.mk.nr
	srcs := map[string]panelSource{
		"f32":     NewWeightF32(out, in, randSlice(r, out*in, 1)).source(),
		"fp8-f32": newWeightFP8(plain, out, in, codes, scale).fallbackSource(),
	}
	dst := make([]float32, kc*nr)
	for _, name := range []string{"f32", "fp8-f32"} {
		src := srcs[name]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				for j0 := 0; j0 < out; j0 += nr {
					src.pack(dst, 0, kc, j0, nr)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(in*out), "ns/elem")
		})
	}
	if bk := defaultImpl().bf16; bk != nil {
		w := newWeightFP8(defaultImpl(), out, in, codes, scale)
		d16 := make([]uint16, kc*bf16NR)
		b.Run("fp8-bf16", func(b *testing.B) {
			for b.Loop() {
				for j0 := 0; j0 < out; j0 += bf16NR {
					w.bf16.decode(d16, 0, kc, j0, bk.decode)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(in*out), "ns/elem")
		})
	}
}
