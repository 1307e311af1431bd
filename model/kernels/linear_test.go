package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// linear64 is the exact (float64) product with the reference dequantised
// weights (of x rounded to BF16 for an FP8 weight), and the per-element
// sum of |x·w| that scales rounding error.
func linear64(x []float32, m int, w *Weight, bias []float32) (y, mag []float64) {
	x = refInput(x, w)
	buf := make([]float32, w.in)
	y = make([]float64, m*w.out)
	mag = make([]float64, m*w.out)
	for o := 0; o < w.out; o++ {
		r := refRow(w, o, buf)
		for i := 0; i < m; i++ {
			var acc, ab float64
			for k, v := range r {
				p := float64(x[i*w.in+k]) * float64(v)
				acc += p
				ab += math.Abs(p)
			}
			if bias != nil {
				acc += float64(bias[o])
				ab += math.Abs(float64(bias[o]))
			}
			y[i*w.out+o], mag[i*w.out+o] = acc, ab
		}
	}
	return y, mag
}

// checkLinear compares Linear with the exact product on a random weight
// (see checkLinearWeight).
func checkLinear(t *testing.T, im *impl, r *rand.Rand, m, in, out int, fp8, withBias bool) {
	t.Helper()
	var w *Weight
	if fp8 {
		w = NewWeightFP8(out, in, randFP8(r, out*in), randSlice(r, out, 0.01))
	} else {
		w = newWeightF32(im, out, in, randSlice(r, out*in, 0.1))
	}
	var bias []float32
	if withBias {
		bias = randSlice(r, out, 1)
	}
	checkLinearWeight(t, im, r, m, w, bias)
}

// checkLinearWeight compares Linear with the exact product: float32
// accumulation of K terms must stay within a few ulps·sqrt(K) of Σ|x·w|;
// the naive float32 reference is held to the same bound as a sanity check.
func checkLinearWeight(t *testing.T, im *impl, r *rand.Rand, m int, w *Weight, bias []float32) {
	t.Helper()
	in, out := w.in, w.out
	x := randSlice(r, m*in, 1)
	y := randSlice(r, m*out, 100) // garbage that must be overwritten
	linear(im, y, x, m, w, bias, nil)
	ref := make([]float32, m*out)
	refLinear(ref, x, m, w, bias)
	want, mag := linear64(x, m, w, bias)
	tol := 4 * math.Sqrt(float64(in)+1) * 0x1p-24
	for i := range y {
		if e := math.Abs(float64(y[i]) - want[i]); e > tol*mag[i] || math.IsNaN(float64(y[i])) {
			t.Fatalf("m=%d in=%d out=%d fp8=%v: y[%d]=%g want %g (err %.3g, bound %.3g, naive %g)",
				m, in, out, w.isFP8(), i, y[i], want[i], e, tol*mag[i], ref[i])
		}
		if e := math.Abs(float64(ref[i]) - want[i]); e > tol*mag[i] {
			t.Fatalf("naive reference out of bound at %d: %g vs %g", i, ref[i], want[i])
		}
	}
}

// TestLinearPackedForAnotherKernel runs float32 weights packed for one
// micro-kernel's panel width (newWeightF32 packs for its impl's kernel)
// under every kernel, so a weight runs correctly whatever kernel runs it.
func TestLinearPackedForAnotherKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, packer := range allKernels() {
		for _, runner := range allKernels() {
			t.Run(packer.name+"/"+runner.name, func(t *testing.T) {
				w := newWeightF32(kernelImpl(packer), 45, 33, randSlice(r, 45*33, 0.1))
				checkLinearWeight(t, kernelImpl(runner), r, 13, w, randSlice(r, 45, 1))
			})
		}
	}
}

func TestLinearShapes(t *testing.T) {
	forEachKernel(t, func(t *testing.T, im *impl) {
		r := rand.New(rand.NewPCG(1, 2))
		shapes := [][3]int{
			{1, 1, 1}, {1, 256, 1536}, {2, 3, 5}, {5, 7, 33}, {6, 32, 32}, {7, 33, 31},
			{13, 100, 47}, {96, 256, 768}, {192, 256, 256}, {61, 1024, 40}, {37, 700, 65},
			{12, 0, 9}, {0, 5, 5},
		}
		for _, s := range shapes {
			for _, fp8 := range []bool{false, true} {
				for _, b := range []bool{false, true} {
					checkLinear(t, im, r, s[0], s[1], s[2], fp8, b)
				}
			}
		}
	})
}

func TestLinearRandom(t *testing.T) {
	forEachKernel(t, func(t *testing.T, im *impl) {
		r := rand.New(rand.NewPCG(3, 4))
		for it := 0; it < 40; it++ {
			m, in, out := 1+r.IntN(40), 1+r.IntN(400), 1+r.IntN(100)
			t.Run(fmt.Sprint(m, in, out), func(t *testing.T) {
				checkLinear(t, im, r, m, in, out, it%2 == 1, it%3 == 0)
			})
		}
	})
}

// TestLinearFused checks that the fused epilogues give exactly what the
// separate passes give: LinearGELU = Linear then GELUTanh, and
// LinearResidual = Linear then res += gate ⊙ y (or res += y), on every
// kernel, for shapes with and without edge tiles and a multi-block K.
func TestLinearFused(t *testing.T) {
	forEachKernel(t, func(t *testing.T, im *impl) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, sh := range []struct{ m, in, out int }{{1, 8, 8}, {7, 33, 45}, {64, 256, 96}, {13, 1100, 40}} {
			for _, fp8 := range []bool{false, true} {
				var w *Weight
				if fp8 {
					w = NewWeightFP8(sh.out, sh.in, randFP8(r, sh.out*sh.in), randSlice(r, sh.out, 0.01))
				} else {
					w = newWeightF32(im, sh.out, sh.in, randSlice(r, sh.out*sh.in, 0.1))
				}
				x := randSlice(r, sh.m*sh.in, 2)
				bias := randSlice(r, sh.out, 1)
				want := make([]float32, sh.m*sh.out)
				linear(im, want, x, sh.m, w, bias, nil)
				geluTanh(&im.vec, want)
				got := make([]float32, sh.m*sh.out)
				linearGELU(im, got, x, sh.m, w, bias)
				name := fmt.Sprintf("%dx%dx%d fp8=%v", sh.m, sh.in, sh.out, fp8)
				checkClose(t, name+" gelu", got, want, 0, 0)

				y := make([]float32, sh.m*sh.out)
				linear(im, y, x, sh.m, w, nil, nil)
				for _, gate := range [][]float32{nil, randSlice(r, sh.out, 1)} {
					res := randSlice(r, sh.m*sh.out, 1)
					want := append([]float32(nil), res...)
					for i := range want {
						if gate == nil {
							want[i] += y[i]
						} else {
							want[i] += float32(gate[i%sh.out] * y[i])
						}
					}
					linearResidual(im, res, make([]float32, sh.m*sh.out), x, sh.m, w, gate)
					checkClose(t, fmt.Sprintf("%s residual gate=%v", name, gate != nil), res, want, 0, 0)
				}
			}
		}
	})
}
