package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// forEachVec runs f with each implementation of the vector loops this
// build and CPU can run, the portable one included.
func forEachVec(t *testing.T, f func(t *testing.T, vec *vecKernels)) {
	for _, a := range append(availableVecs(), goVec) {
		t.Run(a.name, func(t *testing.T) { f(t, &a) })
	}
}

// actInputs covers the range the model produces and the tails: every
// length up to a few vectors (remainders), zeros, tiny and huge values.
func actInputs(r *rand.Rand) [][]float32 {
	var xs [][]float32
	for n := 0; n < 50; n++ {
		xs = append(xs, randSlice(r, n, 8))
	}
	xs = append(xs, randSlice(r, 4099, 30), randSlice(r, 1000, 0.01))
	xs = append(xs, []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e-8, -1e-8, 3, -3, 10, -10, 20, -20,
		50, -50, 87, -87, 100, -100, 1e30, -1e30, 1, -1, 0.5, -0.5, 5.5, -5.5, 9, -9, 0.1, 2})
	return xs
}

func checkRel(t *testing.T, what string, in, got float32, want float64, rtol, atol float64) {
	t.Helper()
	if d := math.Abs(float64(got) - want); !(d <= atol+rtol*math.Abs(want)) {
		t.Fatalf("%s(%g) = %g, want %g (rel err %.3g)", what, in, got, want, d/math.Abs(want))
	}
}

func TestGELUTanh(t *testing.T) {
	forEachVec(t, func(t *testing.T, vec *vecKernels) {
		r := rand.New(rand.NewPCG(1, 1))
		for _, x := range actInputs(r) {
			y := append([]float32(nil), x...)
			geluTanh(vec, y)
			ref := append([]float32(nil), x...)
			refGELUTanh(ref)
			for i, v := range x {
				// The formula in float64, written as v/(1+exp(-2u)): the
				// tanh form loses digits to cancellation in 1+tanh(u) even
				// in float64 once v < -5. Relative 1e-6 where |2u| ≤ 4
				// (|v| ≲ 2.3) and 2.5e-7·|2u| beyond: the float32 rounding
				// of 2u alone costs about 2^-24·|2u|. (Measured: 7e-7 for
				// |v| ≤ 3, 1.8e-6 for |v| ≤ 5, where a float32 tanh form is
				// off by 1e-5 and 0.3.) The naive reference agrees wherever
				// it has the digits.
				v64 := float64(v)
				u2 := -2 * 0.7978845608028654 * (v64 + 0.044715*v64*v64*v64)
				want := v64 / (1 + math.Exp(u2))
				checkRel(t, "gelu", v, y[i], want, max(1e-6, 2.5e-7*math.Abs(u2)), 1e-37)
				if v > -3 {
					checkRel(t, "gelu vs naive", v, y[i], float64(ref[i]), 1e-6, 1e-37)
				}
			}
		}
	})
}

func TestSiLU(t *testing.T) {
	forEachVec(t, func(t *testing.T, vec *vecKernels) {
		r := rand.New(rand.NewPCG(2, 1))
		for _, x := range actInputs(r) {
			y := append([]float32(nil), x...)
			silu(vec, y)
			for i, v := range x {
				want := float64(v) / (1 + math.Exp(-float64(v)))
				checkRel(t, "silu", v, y[i], want, 1e-6, 1e-36)
			}
		}
	})
}

func TestExpSum(t *testing.T) {
	forEachVec(t, func(t *testing.T, vec *vecKernels) {
		r := rand.New(rand.NewPCG(3, 1))
		for _, x := range actInputs(r) {
			x = x[:len(x):len(x)]
			for i := range x {
				x[i] = float32(min(max(float64(x[i]), -80), 80)) // normal results
			}
			shift := float32(1.5)
			y := append([]float32(nil), x...)
			s := expSum(vec, y, shift)
			var ws float64
			for i, v := range x {
				want := math.Exp(float64(v - shift))
				ws += want
				checkRel(t, "exp", v-shift, y[i], want, 3e-7, 0)
			}
			checkRel(t, "sum", 0, s, ws, 1e-6, 0)
		}
	})
}

func TestExp32(t *testing.T) {
	// Every 97th float32 with a normal result, against the correctly
	// rounded value: at most 2 ulps; and the tails.
	worst := 0.0
	for b := uint32(0); b < 1<<31; b += 97 {
		for _, x := range []float32{math.Float32frombits(b), -math.Float32frombits(b)} {
			if !(x >= -87 && x <= 88.7) {
				continue
			}
			want := float32(math.Exp(float64(x)))
			got := exp32(x)
			ulp := float64(math.Float32frombits(math.Float32bits(want)+1) - want)
			if e := math.Abs(float64(got)-float64(want)) / ulp; e > worst {
				worst = e
			}
		}
	}
	for _, c := range []struct{ x, want float32 }{
		{-1000, 0}, {-104, 0}, {-103, float32(math.Exp(-103))}, {-95, float32(math.Exp(-95))}, {-87.5, float32(math.Exp(-87.5))},
		{88.72, float32(math.Exp(float64(float32(88.72))))}, {88.8, float32(math.Inf(1))}, {1000, float32(math.Inf(1))},
	} {
		if got := exp32(c.x); math.Abs(float64(got-c.want)) > 2e-45 && got != c.want {
			t.Errorf("exp32(%g) = %g, want %g", c.x, got, c.want)
		}
	}
	if worst > 2 {
		t.Fatalf("exp32: worst error %.1f ulp", worst)
	}
	t.Logf("exp32: worst error %.1f ulp", worst)
}

func TestScaleMax(t *testing.T) {
	forEachVec(t, func(t *testing.T, vec *vecKernels) {
		r := rand.New(rand.NewPCG(4, 1))
		for _, x := range actInputs(r) {
			y := append([]float32(nil), x...)
			mx := scaleMax(vec, y, 0.125)
			want := float32(math.Inf(-1))
			for i, v := range x {
				if y[i] != v*0.125 {
					t.Fatalf("scaleMax: y[%d] = %g, want %g", i, y[i], v*0.125)
				}
				want = max(want, v*0.125)
			}
			if mx != want {
				t.Fatalf("scaleMax(%v) = %g, want %g", x, mx, want)
			}
		}
	})
}

// TestResidualLoops checks the vector residual and modulation loops
// against their definitions, bit for bit (a product rounded, then a sum:
// never fused), for every length up to a few vectors.
func TestResidualLoops(t *testing.T) {
	forEachVec(t, func(t *testing.T, vec *vecKernels) {
		r := rand.New(rand.NewPCG(17, 3))
		for n := 0; n < 70; n++ {
			x, o, g := randSlice(r, n, 4), randSlice(r, n, 4), randSlice(r, n, 2)
			want := make([]float32, n)
			got := append([]float32(nil), x...)
			for i := range want {
				want[i] = x[i] + float32(g[i]*o[i])
			}
			addGated(vec, got, o, g)
			checkClose(t, "addGated", got, want, 0, 0)
			got = append(got[:0], x...)
			for i := range want {
				want[i] = x[i] + o[i]
			}
			addInto(vec, got, o)
			checkClose(t, "addInto", got, want, 0, 0)
			got = append(got[:0], x...)
			for i := range want {
				s := 1 + g[i]
				want[i] = float32(x[i]*s) + o[i]
			}
			scaleShift(vec, got, g, o)
			checkClose(t, "scaleShift", got, want, 0, 0)
		}
	})
}
