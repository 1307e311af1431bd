package kernels

import "math"

// Cephes expf, the algorithm of the vector code in act_amd64.s: clamp to
// [-104, 89] (beyond which the float32 result is 0 or +Inf anyway),
// n = round(x·log2 e), r = x - n·ln2 in two parts (Cody-Waite), exp(r) by a
// degree-7 polynomial, then scale by 2^n in two steps so that each factor is
// a normal float. Relative error ≤ 1 ulp where the result is normal.
const (
	expHi    = 89.0
	expLo    = -104.0
	expLog2e = 1.44269504088896341
	expC1    = 0.693359375
	expC2    = -2.12194440e-4
	expP0    = 1.9875691500e-4
	expP1    = 1.3981999507e-3
	expP2    = 8.3334519073e-3
	expP3    = 4.1665795894e-2
	expP4    = 1.6666665459e-1
	expP5    = 5.0000001201e-1
)

// fma32 is a fused float32 multiply-add (a·b+c rounded once), like the
// vector FMA instructions: the float64 product of two float32 values is
// exact, so one float64 FMA rounded to float32 matches except in rare
// double-rounding cases.
func fma32(a, b, c float32) float32 {
	return float32(math.FMA(float64(a), float64(b), float64(c)))
}

// exp32 is the scalar version of the vector exp.
func exp32(x float32) float32 {
	x = min(max(x, expLo), expHi)
	n := float32(math.RoundToEven(float64(x * expLog2e)))
	r := fma32(-n, expC1, x)
	r = fma32(-n, expC2, r)
	p := fma32(expP0, r, expP1)
	p = fma32(p, r, expP2)
	p = fma32(p, r, expP3)
	p = fma32(p, r, expP4)
	p = fma32(p, r, expP5)
	p = fma32(p, r*r, r) + 1
	n1 := int32(n) >> 1
	p *= math.Float32frombits(uint32(n1+127) << 23)
	return p * math.Float32frombits(uint32(int32(n)-n1+127)<<23)
}

// Scalar forms of the vector loops, used for remainders and as the
// portable implementation.

func expSumGo(x []float32, shift float32) float32 {
	var s float32
	for i, v := range x {
		e := exp32(v - shift)
		x[i] = e
		s += e
	}
	return s
}

// geluGo computes GELU-tanh as v·sigmoid(2u), u = sqrt(2/π)(v + 0.044715v³):
// 0.5·v·(1+tanh u) = v/(1+exp(-2u)) exactly, and this form has no
// cancellation where tanh u ≈ -1, so the relative error stays at a few ulps
// everywhere.
func geluGo(x []float32) {
	const g1, g2 = -2 * 0.7978845608028654, -2 * 0.7978845608028654 * 0.044715
	for i, v := range x {
		y := fma32(g2, v*v, g1) * v
		x[i] = v / (exp32(y) + 1)
	}
}

func siluGo(x []float32) {
	for i, v := range x {
		x[i] = v / (exp32(-v) + 1)
	}
}
