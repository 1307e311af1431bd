package kernels

import (
	"math/rand/v2"
	"testing"
)

// Norm outputs are O(1) (times w): compare with the naive float64-statistics
// reference at a few float32 ulps, absolute and relative.
const normTol = 1e-6

func TestLayerNorm(t *testing.T) {
	forEachVec(t, func(t *testing.T, vec *vecKernels) {
		r := rand.New(rand.NewPCG(11, 1))
		for _, dim := range []int{1, 2, 7, 16, 17, 64, 100, 256, 1000} {
			for _, affine := range []string{"none", "wb", "w", "b"} {
				rows := 1 + r.IntN(5)
				x := randSlice(r, rows*dim, 2)
				for i := range x {
					x[i] += 3 // a mean well away from zero
				}
				var w, b []float32
				if affine == "wb" || affine == "w" {
					w = randSlice(r, dim, 1.5)
				}
				if affine == "wb" || affine == "b" {
					b = randSlice(r, dim, 1)
				}
				got, want := append([]float32(nil), x...), append([]float32(nil), x...)
				layerNorm(vec, got, rows, dim, w, b, 1e-6)
				refLayerNorm(want, rows, dim, w, b, 1e-6)
				checkClose(t, "LayerNorm "+affine, got, want, normTol, normTol)
			}
		}
	})
}

func TestRMSNorm(t *testing.T) {
	forEachVec(t, func(t *testing.T, vec *vecKernels) {
		r := rand.New(rand.NewPCG(12, 1))
		for _, dim := range []int{1, 5, 16, 33, 64, 256, 1000} {
			for _, extra := range []int{0, 3, 64} {
				rows, stride := 1+r.IntN(6), dim+extra
				x := randSlice(r, rows*stride, 3)
				w := randSlice(r, dim, 2)
				got, want := append([]float32(nil), x...), append([]float32(nil), x...)
				rmsNorm(vec, got, rows, dim, stride, w, 1e-6)
				refRMSNorm(want, rows, dim, stride, w, 1e-6)
				checkClose(t, "RMSNorm", got, want, normTol, normTol)
			}
		}
	})
}

func TestChanRMSNorm(t *testing.T) {
	forEachVec(t, func(t *testing.T, vec *vecKernels) {
		r := rand.New(rand.NewPCG(13, 1))
		for _, c := range [][2]int{{1, 1}, {3, 5}, {16, 64}, {32, 1000}, {7, 17}, {128, 256}} {
			x := randSlice(r, c[0]*c[1], 3)
			g := randSlice(r, c[0], 2)
			got, want := append([]float32(nil), x...), append([]float32(nil), x...)
			chanRMSNorm(vec, got, c[0], c[1], g, 1e-6)
			refChanRMSNorm(want, c[0], c[1], g, 1e-6)
			checkClose(t, "ChanRMSNorm", got, want, normTol, normTol)
		}
	})
}

// TestChanRMSNormSplit checks that splitting positions over the pool, and
// fusing SiLU, give exactly the one-goroutine norm (then SiLU).
func TestChanRMSNormSplit(t *testing.T) {
	forEachVec(t, func(t *testing.T, vec *vecKernels) {
		r := rand.New(rand.NewPCG(13, 2))
		pool := NewPool(3)
		for _, c := range [][2]int{{3, 5}, {16, 1000}, {32, 16384}} {
			x := randSlice(r, c[0]*c[1], 3)
			g := randSlice(r, c[0], 2)
			for _, act := range []bool{false, true} {
				got, want := append([]float32(nil), x...), append([]float32(nil), x...)
				chanRMSNormPool(pool, vec, got, c[0], c[1], g, 1e-6, act)
				chanRMSNorm(vec, want, c[0], c[1], g, 1e-6)
				if act {
					silu(vec, want)
				}
				checkClose(t, "ChanRMSNorm split", got, want, 0, 0)
			}
		}
	})
}
