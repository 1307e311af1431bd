package kernels

import "math"

// GELUTanh applies the tanh approximation of GELU in place.
func GELUTanh(x []float32) {
	const c = 0.7978845608028654 // sqrt(2/pi)
	for i, a := range x {
		v := float64(a)
		x[i] = float32(0.5 * v * (1 + math.Tanh(c*(v+0.044715*v*v*v))))
	}
}

// SiLU applies x·sigmoid(x) in place.
func SiLU(x []float32) {
	for i, a := range x {
		x[i] = a / (1 + float32(math.Exp(float64(-a))))
	}
}
