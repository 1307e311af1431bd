package model

import (
	"math"

	"github.com/reel-video/reel/model/kernels"
)

// smallLinear is y = x·Wᵀ + b with W [out, in] held in float32 or BF16.
// Both storages give identical results: BF16 widens to float32 exactly.
type smallLinear struct {
	out, in int
	f32     []float32
	bf16    []uint16
	bias    []float32
}

// row computes one row, y = W·x + b, accumulating sequentially in float32
// (one row is too small for the GEMM to matter). Outputs are split over
// the pool (adaln's 1536 dot products are a GEMV worth two cores); each is
// still one sequential sum.
func (l *smallLinear) row(y, x []float32) {
	x = x[:l.in]
	kernels.ParallelRows(l.out, 128, func(o0, o1 int) {
		for o := o0; o < o1; o++ {
			var acc float32
			if l.f32 != nil {
				for i, w := range l.f32[o*l.in : (o+1)*l.in] {
					acc += x[i] * w
				}
			} else {
				for i, w := range l.bf16[o*l.in : (o+1)*l.in] {
					acc += x[i] * math.Float32frombits(uint32(w)<<16)
				}
			}
			y[o] = acc + l.bias[o]
		}
	})
}

// rows computes m rows with the GEMM kernel. A BF16 weight is widened into
// a temporary float32 copy for the call, so it stays compact when resident.
func (l *smallLinear) rows(y, x []float32, m int) {
	w := l.f32
	if w == nil {
		w = make([]float32, len(l.bf16))
		for i, b := range l.bf16 {
			w[i] = math.Float32frombits(uint32(b) << 16)
		}
	}
	kernels.Linear(y, x, m, kernels.NewWeightF32(l.out, l.in, w), l.bias)
}

// bytes is the resident size of the layer.
func (l *smallLinear) bytes() int { return 4*len(l.f32) + 2*len(l.bf16) + 4*len(l.bias) }
