package kernels

// Linear computes y[m, Out] = x[m, In]·Wᵀ (+ bias[Out] when bias is non-nil).
// y is overwritten and must not alias x.
func Linear(y, x []float32, m int, w *Weight, bias []float32) {
	linear(defaultImpl(), y, x, m, w, bias, nil)
}

// LinearGELU is Linear followed by GELUTanh on y, fused: each tile of y is
// activated right after its last K-block, while it is in cache, and on
// the goroutine that computed it. Results equal the two calls'.
func LinearGELU(y, x []float32, m int, w *Weight, bias []float32) {
	linearGELU(defaultImpl(), y, x, m, w, bias)
}

func linearGELU(im *impl, y, x []float32, m int, w *Weight, bias []float32) {
	linear(im, y, x, m, w, bias, func(i0, i1, j0, j1 int) {
		for i := i0; i < i1; i++ {
			geluTanh(&im.vec, y[i*w.out+j0:i*w.out+j1])
		}
	})
}

// LinearResidual computes y = x·Wᵀ like Linear, then res += gate ⊙ y (gate
// [Out] broadcast over the rows; nil means no gate) tile by tile as the
// tiles are finished, rounding the product before the sum as PyTorch does.
// res is [m, Out] and must not alias x or y.
func LinearResidual(res, y, x []float32, m int, w *Weight, gate []float32) {
	linearResidual(defaultImpl(), res, y, x, m, w, gate)
}

func linearResidual(im *impl, res, y, x []float32, m int, w *Weight, gate []float32) {
	if len(res) < m*w.out || (gate != nil && len(gate) != w.out) {
		panic("kernels: LinearResidual: bad sizes")
	}
	n := w.out
	linear(im, y, x, m, w, nil, func(i0, i1, j0, j1 int) {
		for i := i0; i < i1; i++ {
			r, o := res[i*n+j0:i*n+j1], y[i*n+j0:i*n+j1]
			if gate == nil {
				addInto(&im.vec, r, o)
			} else {
				addGated(&im.vec, r, o, gate[j0:j1])
			}
		}
	})
}

func linear(im *impl, y, x []float32, m int, w *Weight, bias []float32, epilogue func(i0, i1, j0, j1 int)) {
	if len(x) < m*w.in || len(y) < m*w.out || (bias != nil && len(bias) != w.out) {
		panic("kernels: Linear: bad sizes")
	}
	if w.isFP8() {
		linearFP8(im, y, x, m, w, bias, epilogue)
		return
	}
	g := gemm{
		m: m, n: w.out, k: w.in,
		a: x, lda: w.in,
		c: y, ldc: w.out,
		colBias:  bias,
		source:   w.source,
		epilogue: epilogue,
	}
	g.run(im)
}
