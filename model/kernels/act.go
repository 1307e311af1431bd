package kernels

import "math"

// GELUTanh applies the tanh approximation of GELU in place:
// 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))), computed as x·sigmoid(2u)
// (see geluGo): relative error against the float64 formula ≤ 1e-6 for
// |x| ≤ 3 and ≤ 2.5e-7·|2u| beyond (the float32 rounding of u), where the
// float32 tanh form loses all digits to cancellation for x < -5.
func GELUTanh(x []float32) { geluTanh(&defaultImpl().vec, x) }

func geluTanh(vec *vecKernels, x []float32) {
	n := vec.vecN(vec.gelu != nil, len(x))
	if n > 0 {
		vec.gelu(&x[0], n)
	}
	geluGo(x[n:])
}

// SiLU applies x·sigmoid(x) in place.
func SiLU(x []float32) { silu(&defaultImpl().vec, x) }

func silu(vec *vecKernels, x []float32) {
	n := vec.vecN(vec.silu != nil, len(x))
	if n > 0 {
		vec.silu(&x[0], n)
	}
	siluGo(x[n:])
}

// expSum sets x[i] = exp(x[i] - shift) and returns the sum: the numerators
// and denominator of a softmax.
func expSum(vec *vecKernels, x []float32, shift float32) float32 {
	n := vec.vecN(vec.expSum != nil, len(x))
	var s float32
	if n > 0 {
		s = vec.expSum(&x[0], n, shift)
	}
	return s + expSumGo(x[n:], shift)
}

// scaleMax multiplies x by scale in place and returns the maximum (-Inf for
// an empty x).
func scaleMax(vec *vecKernels, x []float32, scale float32) float32 {
	n := vec.vecN(vec.scaleMax != nil, len(x))
	mx := float32(math.Inf(-1))
	if n > 0 {
		mx = vec.scaleMax(&x[0], n, scale)
	}
	for i, v := range x[n:] {
		v *= scale
		x[n+i] = v
		if v > mx {
			mx = v
		}
	}
	return mx
}
