package kernels

import "math"

// The norms accumulate Σx and Σx² in float64 (vector lanes, then a
// horizontal sum), like the reference definitions, so their statistics are
// exact to float32 precision whatever the row length or offset; the
// normalising pass is float32, as in PyTorch.

// sumSq returns Σx and Σx² in float64.
func sumSq(vec *vecKernels, x []float32) (s, ss float64) {
	n := vec.vecN(vec.sumSq != nil, len(x))
	if n > 0 {
		s, ss = vec.sumSq(&x[0], n)
	}
	for _, a := range x[n:] {
		s += float64(a)
		ss += float64(a) * float64(a)
	}
	return s, ss
}

// LayerNorm normalises each of rows rows of x (length dim) in place:
// (x-mean)/sqrt(var+eps)·w + b. w and b may be nil (no affine).
func LayerNorm(x []float32, rows, dim int, w, b []float32, eps float32) {
	layerNorm(&defaultImpl().vec, x, rows, dim, w, b, eps)
}

func layerNorm(vec *vecKernels, x []float32, rows, dim int, w, b []float32, eps float32) {
	if len(x) < rows*dim || (w != nil && len(w) < dim) || (b != nil && len(b) < dim) {
		panic("kernels: LayerNorm: bad sizes")
	}
	for r := 0; r < rows; r++ {
		v := x[r*dim : (r+1)*dim]
		s, ss := sumSq(vec, v)
		mean := s / float64(dim)
		vr := max(ss/float64(dim)-mean*mean, 0)
		m, inv := float32(mean), float32(1/math.Sqrt(vr+float64(eps)))
		n := 0
		switch {
		case w != nil && b != nil:
			if n = vec.vecN(vec.normRowAffine != nil, dim); n > 0 {
				vec.normRowAffine(&v[0], n, m, inv, &w[0], &b[0])
			}
		case w == nil && b == nil:
			if n = vec.vecN(vec.normRow != nil, dim); n > 0 {
				vec.normRow(&v[0], n, m, inv)
			}
		}
		for i := n; i < dim; i++ {
			y := (v[i] - m) * inv
			if w != nil {
				y *= w[i]
			}
			if b != nil {
				y += b[i]
			}
			v[i] = y
		}
	}
}

// RMSNorm normalises each row of x in place: x·rsqrt(mean(x²)+eps)·w.
// Rows are dim long and start stride apart (stride >= dim), so heads inside
// a wider token row can be normalised without copying.
func RMSNorm(x []float32, rows, dim, stride int, w []float32, eps float32) {
	rmsNorm(&defaultImpl().vec, x, rows, dim, stride, w, eps)
}

func rmsNorm(vec *vecKernels, x []float32, rows, dim, stride int, w []float32, eps float32) {
	if rows > 0 && (len(x) < (rows-1)*stride+dim || len(w) < dim || stride < dim) {
		panic("kernels: RMSNorm: bad sizes")
	}
	for r := 0; r < rows; r++ {
		v := x[r*stride : r*stride+dim]
		_, ss := sumSq(vec, v)
		inv := float32(1 / math.Sqrt(ss/float64(dim)+float64(eps)))
		n := vec.vecN(vec.normRowW != nil, dim)
		if n > 0 {
			vec.normRowW(&v[0], n, inv, &w[0])
		}
		for i := n; i < dim; i++ {
			v[i] = v[i] * inv * w[i]
		}
	}
}

// ChanRMSNorm normalises x [C, N] over the channel axis at each of the N
// positions, in place: x·rsqrt(mean_c(x²)+eps)·g[c].
func ChanRMSNorm(x []float32, c, n int, g []float32, eps float32) {
	chanRMSNorm(&defaultImpl().vec, x, c, n, g, eps)
}

func chanRMSNorm(vec *vecKernels, x []float32, c, n int, g []float32, eps float32) {
	if len(x) < c*n || len(g) < c {
		panic("kernels: ChanRMSNorm: bad sizes")
	}
	ss := make([]float64, n)
	nv := vec.vecN(vec.sqAcc != nil, n)
	for ch := 0; ch < c; ch++ {
		row := x[ch*n : (ch+1)*n]
		if nv > 0 {
			vec.sqAcc(&ss[0], &row[0], nv)
		}
		for i := nv; i < n; i++ {
			ss[i] += float64(row[i]) * float64(row[i])
		}
	}
	inv := make([]float32, n)
	for i, s := range ss {
		inv[i] = float32(1 / math.Sqrt(s/float64(c)+float64(eps)))
	}
	nv = vec.vecN(vec.mulInvG != nil, n)
	for ch := 0; ch < c; ch++ {
		row := x[ch*n : (ch+1)*n]
		if nv > 0 {
			vec.mulInvG(&row[0], &inv[0], nv, g[ch])
		}
		for i := nv; i < n; i++ {
			row[i] = row[i] * inv[i] * g[ch]
		}
	}
}
