package fp8

import (
	"math"

	"github.com/reel-video/reel/model/safetensors"
)

// The decode tables are computed once at init and never written again.
var (
	e4m3Table = buildTable(decodeE4M3Slow)
	e5m2Table = buildTable(decodeE5M2)
)

func buildTable(f func(uint8) float32) *[256]float32 {
	var t [256]float32
	for i := range t {
		t[i] = f(uint8(i))
	}
	return &t
}

// DecodeE4M3 returns the value of an E4M3FN code.
func DecodeE4M3(c uint8) float32 { return e4m3Table[c] }

// DecodeE5M2 returns the value of an E5M2 code.
func DecodeE5M2(c uint8) float32 { return e5m2Table[c] }

// E4M3Table returns a copy of the 256-entry E4M3FN decode table, for
// kernels that want it in their own memory.
func E4M3Table() [256]float32 { return *e4m3Table }

// E5M2Table returns a copy of the 256-entry E5M2 decode table.
func E5M2Table() [256]float32 { return *e5m2Table }

// decodeE4M3Slow builds a value from its fields by widening to float32
// bits: rebias the exponent 7 -> 127 and shift the mantissa into place.
func decodeE4M3Slow(c uint8) float32 {
	sign := uint32(c>>7) << 31
	exp := uint32(c>>3) & 0xf
	mant := uint32(c) & 0x7
	switch {
	case exp == 0xf && mant == 0x7:
		return math.Float32frombits(sign | 0x7fc00000)
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: mant · 2^-9
		return math.Float32frombits(sign | math.Float32bits(float32(mant)/512))
	default:
		return math.Float32frombits(sign | (exp+120)<<23 | mant<<20)
	}
}

// decodeE5M2 widens an E5M2 code: it is the top byte of an IEEE binary16,
// so the half-precision widening does it exactly (Inf and NaN included).
func decodeE5M2(c uint8) float32 { return safetensors.HalfToFloat32(uint16(c) << 8) }
