package kernels

import "math"

// GELUTanh applies the tanh approximation of GELU in place:
// 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))), computed as x·sigmoid(2u)
// (see geluGo): relative error against the float64 formula ≤ 1e-6 for
// |x| ≤ 3 and ≤ 2.5e-7·|2u| beyond (the float32 rounding of u), where the
// float32 tanh form loses all digits to cancellation for x < -5.
func GELUTanh(x []float32) {
	n := 0
	if act.gelu != nil {
		if n = act.width * (len(x) / act.width); n > 0 {
			act.gelu(&x[0], n)
		}
	}
	geluGo(x[n:])
}

// SiLU applies x·sigmoid(x) in place.
func SiLU(x []float32) {
	n := 0
	if act.silu != nil {
		if n = act.width * (len(x) / act.width); n > 0 {
			act.silu(&x[0], n)
		}
	}
	siluGo(x[n:])
}

// expSum sets x[i] = exp(x[i] - shift) and returns the sum: the numerators
// and denominator of a softmax.
func expSum(x []float32, shift float32) float32 {
	n := 0
	var s float32
	if act.expSum != nil {
		if n = act.width * (len(x) / act.width); n > 0 {
			s = act.expSum(&x[0], n, shift)
		}
	}
	return s + expSumGo(x[n:], shift)
}

// scaleMax multiplies x by scale in place and returns the maximum (-Inf for
// an empty x).
func scaleMax(x []float32, scale float32) float32 {
	n := 0
	mx := float32(math.Inf(-1))
	if act.scaleMax != nil {
		if n = act.width * (len(x) / act.width); n > 0 {
			mx = act.scaleMax(&x[0], n, scale)
		}
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

// actKernels is one implementation of the vector loops; each processes a
// multiple of width elements. Nil functions mean "scalar only".
type actKernels struct {
	name     string
	width    int
	expSum   func(x *float32, n int, shift float32) float32
	gelu     func(x *float32, n int)
	silu     func(x *float32, n int)
	scaleMax func(x *float32, n int, scale float32) float32
}

// act is the implementation in use, chosen at init; tests swap it.
var act = bestAct()

var goAct = actKernels{name: "go", width: 1}
