// Package fp8 implements the two OCP OFP8 formats used for weights:
// E4M3FN (safetensors "F8_E4M3", PyTorch float8_e4m3fn: bias 7, max 448,
// no infinities, NaN only at S.1111.111) and E5M2 (safetensors "F8_E5M2",
// PyTorch float8_e5m2: bias 15, max 57344, IEEE-style Inf and NaN; it is
// the top byte of an IEEE binary16).
//
// Which overflow behaviour each function implements (a plain cast differs
// between PyTorch versions, CUDA and ml_dtypes, so we never rely on one):
//
//   - DecodeE4M3, DecodeE5M2: exact, by 256-entry table.
//   - EncodeE4M3, EncodeE5M2: round to nearest, ties to even, NON-saturating,
//     the OCP non-saturating mode as ml_dtypes astype and PyTorch ≤ 2.11
//     eager .to() do it. E4M3: |x| > 464 (including ±Inf) gives NaN
//     (0x7F, sign kept); 464 itself ties to even and gives 448. E5M2:
//     |x| ≥ 61440 (the tie above 57344 rounds to the even code, Inf) gives
//     ±Inf (0x7C/0xFC). NaN gives 0x7F with the input's sign (PyTorch's
//     byte; ml_dtypes writes 0x7E for E5M2).
//   - EncodeE4M3Sat, EncodeE5M2Sat: SATURATING: clamp to ±448 / ±57344
//     first (±Inf clamps too, as torch.clamp does), then encode RNE. NaN
//     stays NaN. This is clamp-then-cast as reel_tiny.py, HunyuanVideo,
//     torchao and CUDA's __NV_SATFINITE do, and equals PyTorch ≥ 2.12's
//     saturating cast for finite input.
//   - QuantizeRows, QuantizeCheckpoint, QuantizeFile: per-output-channel
//     weight quantization, scale = amax/448 and codes =
//     EncodeE4M3Sat(w/scale), all in float32 as PyTorch computes it, so the
//     result equals reel_tiny.py's FP8 reference byte for byte.
//
// Rounding uses float32 bit arithmetic (normal range) and one float32
// addition (subnormal range), the branch-light scheme of PyTorch's
// c10/util/Float8_e4m3fn.h; tests check it against an exhaustive
// nearest-value reference.
package fp8
