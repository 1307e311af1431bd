package kernels

import "github.com/reel-video/reel/model/fp8"

// Weight is the weight of a Linear layer in PyTorch layout [Out, In]:
// y = x·Wᵀ. It holds either float32 values or FP8 E4M3FN codes with one
// float32 scale per output row (w[o][i] = decode(code[o][i]) · scale[o]).
// FP8 weights are never widened to a full float32 copy; kernels dequantise
// small panels as they go. Float32 weights are stored already transposed
// into the GEMM's panels, so Linear multiplies them in place instead of
// repacking them on every call. Construct with NewWeightF32 or
// NewWeightFP8.
type Weight struct {
	out, in int
	f32     prepacked // Wᵀ [in, out] in panels of the default kernel's width; empty for FP8
	fp8     []uint8
	scale   []float32
}

// NewWeightF32 packs a float32 [out, in] weight (data is not kept).
func NewWeightF32(out, in int, data []float32) *Weight {
	return newWeightF32(defaultImpl(), out, in, data)
}

// newWeightF32 packs for the panel width of im's micro-kernel; any other
// kernel can still run the weight (see gemm).
func newWeightF32(im *impl, out, in int, data []float32) *Weight {
	if len(data) != out*in {
		panic("kernels: NewWeightF32: len(data) != out*in")
	}
	return &Weight{out: out, in: in, f32: prepack(transposedRows{data: data, stride: in, rows: out}, in, out, im.mk.nr)}
}

// NewWeightFP8 wraps E4M3FN codes [out, in] and per-row scales [out].
func NewWeightFP8(out, in int, codes []uint8, scale []float32) *Weight {
	if len(codes) != out*in || len(scale) != out {
		panic("kernels: NewWeightFP8: bad sizes")
	}
	return &Weight{out: out, in: in, fp8: codes, scale: scale}
}

// Bytes is the resident size of the weight's storage.
func (w *Weight) Bytes() int { return 4*len(w.f32.buf) + len(w.fp8) + 4*len(w.scale) }

// e4m3 is package fp8's E4M3FN decode table, copied into this package so
// the packing loop indexes a fixed-size array (no bounds checks).
var e4m3 = fp8.E4M3Table()

// source is the panel source of Linear: B = Wᵀ. A float32 weight is its
// own prepacked panels; an FP8 one is packed (decoded) panel by panel.
func (w *Weight) source() panelSource {
	if w.fp8 == nil {
		return w.f32
	}
	return w
}

// pack implements panelSource for an FP8 Linear weight: panel column jj is
// row j0+jj of W, transposed into the panel, with the codes decoded and
// scaled here, one small panel at a time: decode(code)·scale is exactly the
// float32 weight of the reference definition, so no full-precision copy of
// the weight ever exists. Rows are taken four at a time (see
// transposedRows.pack).
func (w *Weight) pack(dst []float32, k0, kc, j0, nr int) {
	dst = dst[:kc*nr]
	jj := 0
	for ; jj+4 <= nr && j0+jj+4 <= w.out; jj += 4 {
		j := j0 + jj
		s0, s1, s2, s3 := w.scale[j], w.scale[j+1], w.scale[j+2], w.scale[j+3]
		r0 := w.fp8[j*w.in+k0 : j*w.in+k0+kc]
		r1 := w.fp8[(j+1)*w.in+k0 : (j+1)*w.in+k0+kc]
		r2 := w.fp8[(j+2)*w.in+k0 : (j+2)*w.in+k0+kc]
		r3 := w.fp8[(j+3)*w.in+k0 : (j+3)*w.in+k0+kc]
		for kk := range r0 {
			d := dst[kk*nr+jj : kk*nr+jj+4 : kk*nr+jj+4]
			d[0] = e4m3[r0[kk]] * s0
			d[1] = e4m3[r1[kk]] * s1
			d[2] = e4m3[r2[kk]] * s2
			d[3] = e4m3[r3[kk]] * s3
		}
	}
	for ; jj < nr; jj++ { // the last columns: fewer than 4 rows left
		j := j0 + jj
		for kk := 0; kk < kc; kk++ {
			var v float32
			if j < w.out {
				v = e4m3[w.fp8[j*w.in+k0+kk]] * w.scale[j]
			}
			dst[kk*nr+jj] = v
		}
	}
}
