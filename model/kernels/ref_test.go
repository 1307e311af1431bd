package kernels

// Naive reference implementations: the definitions every fast kernel is
// tested against. They are the original, obviously-correct versions of the
// package API, kept verbatim apart from their names.

import "math"

// refLinear computes y[m, Out] = x[m, In]·Wᵀ (+ bias[Out] when bias is non-nil).
// y is overwritten and must not alias x.
func refLinear(y, x []float32, m int, w *Weight, bias []float32) {
	x = refInput(x, w)
	buf := make([]float32, w.in)
	for o := 0; o < w.out; o++ {
		r := refRow(w, o, buf)
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

// refLayerNorm normalises each of rows rows of x (length dim) in place:
// (x-mean)/sqrt(var+eps)·w + b. w and b may be nil (no affine).
func refLayerNorm(x []float32, rows, dim int, w, b []float32, eps float32) {
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

// refRMSNorm normalises each row of x in place: x·rsqrt(mean(x²)+eps)·w.
// Rows are dim long and start stride apart (stride >= dim), so heads inside
// a wider token row can be normalised without copying.
func refRMSNorm(x []float32, rows, dim, stride int, w []float32, eps float32) {
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

// refChanRMSNorm normalises x [C, N] over the channel axis at each of the N
// positions, in place: x·rsqrt(mean_c(x²)+eps)·g[c].
func refChanRMSNorm(x []float32, c, n int, g []float32, eps float32) {
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

// refGELUTanh applies the tanh approximation of GELU in place.
func refGELUTanh(x []float32) {
	const c = 0.7978845608028654 // sqrt(2/pi)
	for i, a := range x {
		v := float64(a)
		x[i] = float32(0.5 * v * (1 + math.Tanh(c*(v+0.044715*v*v*v))))
	}
}

// refAttention computes out = softmax(q·kᵀ/sqrt(HeadDim))·v per head.
func refAttention(out, q, k, v []float32, p AttnParams) {
	scale := float32(1 / math.Sqrt(float64(p.HeadDim)))
	s := make([]float32, p.NK)
	for h := 0; h < p.Heads; h++ {
		ho := h * p.HeadDim
		for i := 0; i < p.NQ; i++ {
			qi := q[i*p.QStride+ho : i*p.QStride+ho+p.HeadDim]
			mx := float32(math.Inf(-1))
			for j := 0; j < p.NK; j++ {
				if p.KeyMask != nil && !p.KeyMask[j] {
					s[j] = float32(math.Inf(-1))
					continue
				}
				kj := k[j*p.KStride+ho : j*p.KStride+ho+p.HeadDim]
				var acc float32
				for d, a := range qi {
					acc += a * kj[d]
				}
				s[j] = acc * scale
				if s[j] > mx {
					mx = s[j]
				}
			}
			var sum float32
			for j := range s {
				e := float32(math.Exp(float64(s[j] - mx)))
				s[j] = e
				sum += e
			}
			o := out[i*p.OStride+ho : i*p.OStride+ho+p.HeadDim]
			for d := range o {
				o[d] = 0
			}
			for j := 0; j < p.NK; j++ {
				wgt := s[j] / sum
				if wgt == 0 {
					continue
				}
				vj := v[j*p.VStride+ho : j*p.VStride+ho+p.HeadDim]
				for d := range o {
					o[d] += wgt * vj[d]
				}
			}
		}
	}
}

// refConv3D computes out [Cout, T, H, W] from in [Cin, T, H, W].
func refConv3D(out, in []float32, t, h, w int, cw *ConvWeight) {
	pt, ph, pw := cw.KT/2, cw.KH/2, cw.KW/2
	n := t * h * w
	for co := 0; co < cw.Cout; co++ {
		o := out[co*n : (co+1)*n]
		for i := range o {
			o[i] = cw.Bias[co]
		}
		for ci := 0; ci < cw.Cin; ci++ {
			src := in[ci*n : (ci+1)*n]
			for a := 0; a < cw.KT; a++ {
				for b := 0; b < cw.KH; b++ {
					for c := 0; c < cw.KW; c++ {
						wv := cw.W[(((co*cw.Cin+ci)*cw.KT+a)*cw.KH+b)*cw.KW+c]
						for z := 0; z < t; z++ {
							zz := z + a - pt
							if zz < 0 || zz >= t {
								continue
							}
							for y := 0; y < h; y++ {
								yy := y + b - ph
								if yy < 0 || yy >= h {
									continue
								}
								for x := 0; x < w; x++ {
									xx := x + c - pw
									if xx < 0 || xx >= w {
										continue
									}
									o[(z*h+y)*w+x] += wv * src[(zz*h+yy)*w+xx]
								}
							}
						}
					}
				}
			}
		}
	}
}

// refPixelShuffle3D rearranges in [C·ft·fh·fw, T, H, W] into out
// [C, T·ft, H·fh, W·fw]; in-channel = ((c·ft+it)·fh+ih)·fw+iw.
func refPixelShuffle3D(out, in []float32, c, t, h, w, ft, fh, fw int) {
	T, H, W := t*ft, h*fh, w*fw
	for ch := 0; ch < c; ch++ {
		for it := 0; it < ft; it++ {
			for ih := 0; ih < fh; ih++ {
				for iw := 0; iw < fw; iw++ {
					src := in[(((ch*ft+it)*fh+ih)*fw+iw)*t*h*w:]
					for z := 0; z < t; z++ {
						for y := 0; y < h; y++ {
							for x := 0; x < w; x++ {
								out[((ch*T+z*ft+it)*H+y*fh+ih)*W+x*fw+iw] = src[(z*h+y)*w+x]
							}
						}
					}
				}
			}
		}
	}
}

// refRow returns output row o of the weight as float32 into buf (len In),
// dequantising FP8 codes as decode(code)·scale.
func refRow(w *Weight, o int, buf []float32) []float32 {
	if !w.isFP8() {
		for i := range buf {
			buf[i] = w.f32.at(i, o)
		}
		return buf
	}
	s := w.scale[o]
	for i := range buf {
		buf[i] = w.fp8Value(o, i) * s
	}
	return buf
}

// refInput is x as an FP8 product sees it: rounded to BF16 (see bf16.go);
// a float32 weight's product sees x itself.
func refInput(x []float32, w *Weight) []float32 {
	if !w.isFP8() {
		return x
	}
	r := make([]float32, len(x))
	for i, v := range x {
		r[i] = bf16Float(roundBF16(v))
	}
	return r
}
