package kernels

import "math"

// AttnParams describes a multi-head attention over token-major buffers:
// head h of query token i is q[i*QStride + h*HeadDim : ... + HeadDim], and the
// same for k, v and out. KeyMask, when non-nil, has NK entries; false drops
// that key (PyTorch masked_fill(-inf)).
type AttnParams struct {
	NQ, NK, Heads, HeadDim             int
	QStride, KStride, VStride, OStride int
	KeyMask                            []bool
}

// Attention computes out = softmax(q·kᵀ/sqrt(HeadDim))·v per head.
func Attention(out, q, k, v []float32, p AttnParams) {
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
