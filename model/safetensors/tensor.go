package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// NumEl returns the number of elements of the tensor (1 for a scalar).
func (t *Tensor) NumEl() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Float32 returns the elements widened to float32. It supports F32, F16 and
// BF16, all of which widen exactly; any other dtype is an ErrDType error
// (FP8 decoding lives in package fp8, which depends on this one).
func (t *Tensor) Float32() ([]float32, error) {
	n := t.NumEl()
	out := make([]float32, n)
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(t.Data[2*i:])) << 16)
		}
	case F16:
		for i := range out {
			out[i] = HalfToFloat32(binary.LittleEndian.Uint16(t.Data[2*i:]))
		}
	default:
		return nil, fmt.Errorf("safetensors: tensor %q: Float32 of %s: %w", t.Name, t.DType, ErrDType)
	}
	return out, nil
}

// HalfToFloat32 widens an IEEE binary16 value exactly, including
// subnormals, infinities and NaN payloads.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN: keep the payload in the top mantissa bits
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal: rebias 15 -> 127
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	default: // subnormal: value = mant · 2^-24, exact in float32
		v := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(v))
	}
}
