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
	name        string
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
