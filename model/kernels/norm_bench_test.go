package kernels

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkNorms measures the norms and activations on the model's shapes:
// LayerNorm and RMSNorm over 192 tokens × 256, per-head RMSNorm (192·4 rows
// of 64 inside 768-wide qkv rows), the VAE's channel RMSNorm (32 × 16·32·32)
// and GELU over 192 × 1024. Each iteration first restores the input (a
// copy, included in the time) so repeated in-place application cannot
// drift into subnormals.
func BenchmarkNorms(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	w, bias := randSlice(r, 256, 1), randSlice(r, 256, 1)
	src := randSlice(r, 32*16*32*32, 2)
	x := make([]float32, len(src))
	run := func(name string, n int, f func()) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				copy(x[:n], src)
				f()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
		})
	}
	run("LayerNorm192x256", 192*256, func() { LayerNorm(x[:192*256], 192, 256, w, bias, 1e-6) })
	run("RMSNorm192x256", 192*256, func() { RMSNorm(x[:192*256], 192, 256, 256, w, 1e-6) })
	run("RMSNormHeads768x64", 192*768, func() { RMSNorm(x[:192*768], 192*4, 64, 192, w[:64], 1e-6) })
	run("ChanRMSNorm32x16384", 32*16384, func() { ChanRMSNorm(x, 32, 16384, w[:32], 1e-6) })
	run("GELU192x1024", 192*1024, func() { GELUTanh(x[:192*1024]) })
	run("SiLU32x16384", 32*16384, func() { SiLU(x) })
}

// BenchmarkPixelShuffle3D measures the decoder's last shuffle: 64 channels
// of 16×32×32 into 16 × 16×64×64.
func BenchmarkPixelShuffle3D(b *testing.B) {
	r := rand.New(rand.NewPCG(6, 6))
	in := randSlice(r, 64*16*32*32, 1)
	out := make([]float32, len(in))
	for b.Loop() {
		PixelShuffle3D(out, in, 16, 16, 32, 32, 1, 2, 2)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(in)), "ns/elem")
}
