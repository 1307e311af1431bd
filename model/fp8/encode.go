package fp8

import "math"

// Bit patterns of float32 thresholds used by the encoders.
const (
	f32Inf = 0x7f800000

	e4m3Overflow  = 0x43e80000 // 464: above it E4M3 rounds past 448
	e4m3MinNormal = 0x3c800000 // 2^-6
	e4m3Max       = 0x43e00000 // 448
	// Adding 2^14 (ulp 2^-9, the E4M3 subnormal step) to a value below
	// 2^-6 makes the float32 adder round it RNE to a multiple of 2^-9; the
	// low mantissa bits are then the E4M3 code (up to 8 = min normal).
	e4m3DenormMagic = (127 - 7 + 23 - 3 + 1) << 23

	e5m2Overflow    = 0x47700000                    // 61440: at or above it E5M2 rounds to Inf
	e5m2MinNormal   = 0x38800000                    // 2^-14
	e5m2Max         = 0x47600000                    // 57344
	e5m2DenormMagic = (127 - 15 + 23 - 2 + 1) << 23 // 2^7, ulp 2^-16
)

// EncodeE4M3 rounds x to E4M3FN, nearest with ties to even, without
// saturation: |x| > 464 and ±Inf give NaN (0x7F | sign), NaN gives NaN.
func EncodeE4M3(x float32) uint8 {
	bits := math.Float32bits(x)
	sign := uint8(bits>>24) & 0x80
	abs := bits &^ 0x80000000
	switch {
	case abs > e4m3Overflow: // includes Inf and NaN
		return sign | 0x7f
	case abs < e4m3MinNormal:
		f := math.Float32frombits(abs) + math.Float32frombits(e4m3DenormMagic)
		return sign | uint8(math.Float32bits(f)-e4m3DenormMagic)
	default:
		// RNE on the 20 dropped mantissa bits; a carry correctly bumps
		// the exponent. Then rebias 127 -> 7 (subtract 120 in exponent
		// units of 8 codes).
		odd := (abs >> 20) & 1
		abs += 0x7ffff + odd
		return sign | uint8((abs>>20)-120<<3)
	}
}

// EncodeE5M2 rounds x to E5M2, nearest with ties to even, without
// saturation: |x| ≥ 61440 and ±Inf give ±Inf (0x7C | sign), NaN gives
// 0x7F | sign.
func EncodeE5M2(x float32) uint8 {
	bits := math.Float32bits(x)
	sign := uint8(bits>>24) & 0x80
	abs := bits &^ 0x80000000
	switch {
	case abs > f32Inf:
		return sign | 0x7f
	case abs >= e5m2Overflow:
		return sign | 0x7c
	case abs < e5m2MinNormal:
		f := math.Float32frombits(abs) + math.Float32frombits(e5m2DenormMagic)
		return sign | uint8(math.Float32bits(f)-e5m2DenormMagic)
	default:
		odd := (abs >> 21) & 1
		abs += 0xfffff + odd
		return sign | uint8((abs>>21)-112<<2)
	}
}

// EncodeE4M3Sat clamps x to [-448, 448] (±Inf included) and then rounds
// to E4M3FN with ties to even; NaN stays NaN (0x7F | sign).
func EncodeE4M3Sat(x float32) uint8 {
	bits := math.Float32bits(x)
	abs := bits &^ 0x80000000
	if abs > e4m3Max && abs <= f32Inf {
		return uint8(bits>>24)&0x80 | 0x7e
	}
	return EncodeE4M3(x)
}

// EncodeE5M2Sat clamps x to [-57344, 57344] (±Inf included) and then
// rounds to E5M2 with ties to even; NaN stays NaN (0x7F | sign).
func EncodeE5M2Sat(x float32) uint8 {
	bits := math.Float32bits(x)
	abs := bits &^ 0x80000000
	if abs > e5m2Max && abs <= f32Inf {
		return uint8(bits>>24)&0x80 | 0x7b
	}
	return EncodeE5M2(x)
}
