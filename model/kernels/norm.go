package kernels

import "math"

// LayerNorm normalises each of rows rows of x (length dim) in place:
// (x-mean)/sqrt(var+eps)·w + b. w and b may be nil (no affine).
func LayerNorm(x []float32, rows, dim int, w, b []float32, eps float32) {
	for r := 0; r < rows; r++ {
		v := x[r*dim : (r+1)*dim]
		var mean float64
		for _, a := range v {
			mean += float64(a)
		}
		mean /= float64(dim)
		var vr float64
		for _, a := range v {
			d := float64(a) - mean
			vr += d * d
		}
		vr /= float64(dim)
		inv := 1 / math.Sqrt(vr+float64(eps))
		for i, a := range v {
			y := float32((float64(a) - mean) * inv)
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
	for r := 0; r < rows; r++ {
		v := x[r*stride : r*stride+dim]
		var ss float64
		for _, a := range v {
			ss += float64(a) * float64(a)
		}
		inv := float32(1 / math.Sqrt(ss/float64(dim)+float64(eps)))
		for i, a := range v {
			v[i] = a * inv * w[i]
		}
	}
}

// ChanRMSNorm normalises x [C, N] over the channel axis at each of the N
// positions, in place: x·rsqrt(mean_c(x²)+eps)·g[c].
func ChanRMSNorm(x []float32, c, n int, g []float32, eps float32) {
	ss := make([]float64, n)
	for ch := 0; ch < c; ch++ {
		for i, a := range x[ch*n : (ch+1)*n] {
			ss[i] += float64(a) * float64(a)
		}
	}
	inv := make([]float32, n)
	for i, s := range ss {
		inv[i] = float32(1 / math.Sqrt(s/float64(c)+float64(eps)))
	}
	for ch := 0; ch < c; ch++ {
		row := x[ch*n : (ch+1)*n]
		for i := range row {
			row[i] = row[i] * inv[i] * g[ch]
		}
	}
}
