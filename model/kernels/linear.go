package kernels

// Linear computes y[m, Out] = x[m, In]·Wᵀ (+ bias[Out] when bias is non-nil).
// y is overwritten and must not alias x.
func Linear(y, x []float32, m int, w *Weight, bias []float32) {
	buf := make([]float32, w.in)
	for o := 0; o < w.out; o++ {
		r := w.row(o, buf)
		var b float32
		if bias != nil {
			b = bias[o]
		}
		for i := 0; i < m; i++ {
			xi := x[i*w.in : (i+1)*w.in]
			var acc float32
			for k, v := range r {
				acc += xi[k] * v
			}
			y[i*w.out+o] = acc + b
		}
	}
}
