package kernels

// Linear computes y[m, Out] = x[m, In]·Wᵀ (+ bias[Out] when bias is non-nil).
// y is overwritten and must not alias x.
func Linear(y, x []float32, m int, w *Weight, bias []float32) {
	linear(defaultImpl(), y, x, m, w, bias)
}

func linear(im *impl, y, x []float32, m int, w *Weight, bias []float32) {
	if len(x) < m*w.in || len(y) < m*w.out || (bias != nil && len(bias) != w.out) {
		panic("kernels: Linear: bad sizes")
	}
	g := gemm{
		m: m, n: w.out, k: w.in,
		a: x, lda: w.in,
		c: y, ldc: w.out,
		colBias: bias,
		source:  w.source,
	}
	g.run(im.mk)
}
