package kernels

// Weight is the weight of a Linear layer in PyTorch layout [Out, In]:
// y = x·Wᵀ. It holds either float32 values or FP8 E4M3FN codes with one
// float32 scale per output row (w[o][i] = decode(code[o][i]) · scale[o]).
// Both are stored already transposed into the GEMM's panels (panel p holds
// columns p·nr … of Wᵀ, In rows of nr values), so Linear reads a float32
// weight in place. An FP8 weight is multiplied as FP8 GEMMs do (see
// bf16.go): its values by the activations rounded to BF16, the scale
// applied to the sum. It keeps its one-byte codes, in the BF16 kernel's
// panel order where the CPU has that kernel and in the float32 kernel's
// where it has not, decoded a panel at a time, so no wider copy exists.
// Construct with NewWeightF32 or NewWeightFP8.
type Weight struct {
	out, in int
	f32     prepacked  // Wᵀ [in, out] in panels of the default kernel's width; empty for FP8
	bf16    bf16Panels // FP8 codes for the BF16 kernel; empty otherwise
	fp8     fp8Panels  // FP8 codes, pair-swapped (see swappedFP8Panels), where there is no BF16 kernel
	scale   []float32  // FP8: per output row, padded to whole BF16 panels; nil for float32
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
// panels (codes and scale are not kept).
func NewWeightFP8(out, in int, codes []uint8, scale []float32) *Weight {
	return newWeightFP8(defaultImpl(), out, in, codes, scale)
}

// newWeightFP8 packs for im: the codes in BF16 panels when it has the
// BF16 kernel, in panels of its micro-kernel's width otherwise. Either
// runs under any impl, with the same results.
func newWeightFP8(im *impl, out, in int, codes []uint8, scale []float32) *Weight {
	if len(codes) != out*in || len(scale) != out {
		panic("kernels: NewWeightFP8: bad sizes")
	}
	w := &Weight{out: out, in: in, scale: make([]float32, (out+bf16NR-1)/bf16NR*bf16NR)}
	copy(w.scale, scale)
	if im.bf16 != nil {
		w.bf16 = newBF16Panels(out, in, codes)
	} else {
		w.fp8 = swappedFP8Panels(out, in, codes, im.mk.nr)
	}
	return w
}

// Bytes is the resident size of the weight's storage.
func (w *Weight) Bytes() int {
	return 4*len(w.f32.buf) + len(w.bf16.codes) + w.fp8.bytes() + 4*len(w.scale)
}

// isFP8 reports whether the weight holds FP8 values.
func (w *Weight) isFP8() bool { return w.scale != nil }

// fp8Value returns decode(code[o][i]) of an FP8 weight.
func (w *Weight) fp8Value(o, i int) float32 {
	if w.bf16.codes != nil {
		return w.bf16.value(o, i)
	}
	return e4m3[w.fp8.code(o, i^1)]
}

// source is the panel source of a float32 Linear: B = Wᵀ, its own
// prepacked panels.
func (w *Weight) source() panelSource { return w.f32 }

// fallbackSource is the panel source of an FP8 weight on the float32
// kernels: the pair-swapped values (see bf16.go).
func (w *Weight) fallbackSource() panelSource {
	if w.bf16.codes != nil {
		return &w.bf16
	}
	return &w.fp8
}
