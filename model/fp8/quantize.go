package fp8

import "fmt"

// E4M3Max is the largest finite E4M3FN value; the per-row scale maps each
// row's amax onto it.
const E4M3Max = 448

// minAmax keeps an all-zero row from dividing by zero; it is the float32
// rounding of reel_tiny.py's clamp(min=1e-12).
const minAmax float32 = 1e-12

// QuantizeRows quantizes a row-major [out, in] weight matrix per output
// channel: scale[r] = max(amax(row r), 1e-12) / 448 and codes =
// EncodeE4M3Sat(w / scale[r]), i.e. clamp to ±448 then round to nearest
// even. Both the division by 448 and w/scale are float32 divisions, as
// PyTorch computes them, so the result is byte-identical to
// (w / scale).clamp(-448, 448).to(torch.float8_e4m3fn). The weight is
// reconstructed as DecodeE4M3(code) · scale[r].
func QuantizeRows(w []float32, out, in int) (codes []uint8, scale []float32) {
	if out < 0 || in < 0 || len(w) != out*in {
		panic(fmt.Sprintf("fp8.QuantizeRows: %d weights for shape [%d, %d]", len(w), out, in))
	}
	codes = make([]uint8, len(w))
	scale = make([]float32, out)
	for r := range out {
		row := w[r*in : (r+1)*in]
		var amax float32
		for _, v := range row {
			if v < 0 {
				v = -v
			}
			if v > amax {
				amax = v
			}
		}
		amax = max(amax, minAmax)
		s := amax / E4M3Max
		scale[r] = s
		dst := codes[r*in : (r+1)*in]
		for i, v := range row {
			dst[i] = EncodeE4M3Sat(v / s)
		}
	}
	return codes, scale
}

// DequantizeRows is the inverse view of QuantizeRows: row r of the result
// is DecodeE4M3(codes) · scale[r], in float32. Kernels should dequantize
// on the fly instead; this is for tests and tools.
func DequantizeRows(codes []uint8, scale []float32, out, in int) []float32 {
	if out < 0 || in < 0 || len(codes) != out*in || len(scale) != out {
		panic(fmt.Sprintf("fp8.DequantizeRows: %d codes, %d scales for shape [%d, %d]", len(codes), len(scale), out, in))
	}
	w := make([]float32, len(codes))
	for r := range out {
		s := scale[r]
		for i := r * in; i < (r+1)*in; i++ {
			w[i] = e4m3Table[codes[i]] * s
		}
	}
	return w
}
