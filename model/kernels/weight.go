package kernels

// Weight is the weight of a Linear layer in PyTorch layout [Out, In]:
// y = x·Wᵀ. It holds either float32 values or FP8 E4M3FN codes with one
// float32 scale per output row (w[o][i] = decode(code[o][i]) · scale[o]).
// Both are stored already transposed into the GEMM's panels (panel p holds
// columns p·nr … of Wᵀ, In rows of nr values), so Linear reads a float32
// weight in place and decodes an FP8 one with a straight vector loop, one
// small panel at a time: FP8 weights stay one byte per value and are never
// widened to a full float32 copy. Construct with NewWeightF32 or
// NewWeightFP8.
type Weight struct {
	out, in int
	f32     prepacked // Wᵀ [in, out] in panels of the default kernel's width; empty for FP8
	fp8     fp8Panels // empty for float32
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

// NewWeightFP8 packs E4M3FN codes [out, in] and per-row scales [out] into
// FP8 panels (codes and scale are not kept).
func NewWeightFP8(out, in int, codes []uint8, scale []float32) *Weight {
	return newWeightFP8(defaultImpl(), out, in, codes, scale)
}

// newWeightFP8 packs for the panel width of im's micro-kernel.
func newWeightFP8(im *impl, out, in int, codes []uint8, scale []float32) *Weight {
	if len(codes) != out*in || len(scale) != out {
		panic("kernels: NewWeightFP8: bad sizes")
	}
	return &Weight{out: out, in: in, fp8: newFP8Panels(out, in, codes, scale, im.mk.nr)}
}

// Bytes is the resident size of the weight's storage.
func (w *Weight) Bytes() int { return 4*len(w.f32.buf) + w.fp8.bytes() }

// source is the panel source of Linear: B = Wᵀ. A float32 weight is its
// own prepacked panels; an FP8 one is decoded panel by panel.
func (w *Weight) source() panelSource {
	if w.fp8.codes == nil {
		return w.f32
	}
	return &w.fp8
}
