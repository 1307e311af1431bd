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
// positions, in place: x·rsqrt(mean_c(x²)+eps)·g[c]. Positions are split
// over the pool.
func ChanRMSNorm(x []float32, c, n int, g []float32, eps float32) {
	im := defaultImpl()
	chanRMSNormPool(im.pool, &im.vec, x, c, n, g, eps, false)
}

// ChanRMSNormSiLU is ChanRMSNorm followed by SiLU, in one pass over x:
// each block of positions is activated right after it is normalised.
func ChanRMSNormSiLU(x []float32, c, n int, g []float32, eps float32) {
	im := defaultImpl()
	chanRMSNormPool(im.pool, &im.vec, x, c, n, g, eps, true)
}

// chanPosBlock is the unit of the position split of ChanRMSNorm: a
// multiple of every vector width, so a split never moves elements between
// the vector loops and their scalar tails.
const chanPosBlock = 64

func chanRMSNormPool(pool *Pool, vec *vecKernels, x []float32, c, n int, g []float32, eps float32, act bool) {
	if len(x) < c*n || len(g) < c {
		panic("kernels: ChanRMSNorm: bad sizes")
	}
	blocks := (n + chanPosBlock - 1) / chanPosBlock
	pool.Rows(blocks, 8, func(b0, b1 int) {
		chanRMSNormRange(vec, x, c, n, b0*chanPosBlock, min(b1*chanPosBlock, n), g, eps, act)
	})
}

func chanRMSNorm(vec *vecKernels, x []float32, c, n int, g []float32, eps float32) {
	if len(x) < c*n || len(g) < c {
		panic("kernels: ChanRMSNorm: bad sizes")
	}
	chanRMSNormRange(vec, x, c, n, 0, n, g, eps, false)
}

// chanRMSNormRange normalises positions [p0, p1) (and applies SiLU when
// act is set).
func chanRMSNormRange(vec *vecKernels, x []float32, c, n, p0, p1 int, g []float32, eps float32, act bool) {
	m := p1 - p0
	if m <= 0 {
		return
	}
	ss := make([]float64, m)
	nv := vec.vecN(vec.sqAcc != nil, m)
	for ch := 0; ch < c; ch++ {
		row := x[ch*n+p0 : ch*n+p1]
		if nv > 0 {
			vec.sqAcc(&ss[0], &row[0], nv)
		}
		for i := nv; i < m; i++ {
			ss[i] += float64(row[i]) * float64(row[i])
		}
	}
	inv := make([]float32, m)
	for i, s := range ss {
		inv[i] = float32(1 / math.Sqrt(s/float64(c)+float64(eps)))
	}
	nv = vec.vecN(vec.mulInvG != nil, m)
	for ch := 0; ch < c; ch++ {
		row := x[ch*n+p0 : ch*n+p1]
		if nv > 0 {
			vec.mulInvG(&row[0], &inv[0], nv, g[ch])
		}
		for i := nv; i < m; i++ {
			row[i] = row[i] * inv[i] * g[ch]
		}
		if act {
			silu(vec, row)
		}
	}
}
