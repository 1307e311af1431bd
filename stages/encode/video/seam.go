package video

import "math"

// BlendSeam mixes the two frames that meet at a chunk boundary, in place:
//
//	last'  = (1-s)·last  + s·first
//	first' = (1-s)·first + s·last
//
// This is the symmetric mix Step-Video applies after decoding its VAE chunks
// (remain 0.6, mix 0.4, i.e. s = 0.4). A jump J between the chunks becomes
// three steps s·J, (1-2s)·J, s·J, so the boundary no longer shows as one hard
// cut. Arithmetic is 8-bit fixed point so results are the same everywhere.
func BlendSeam(last, first []byte, s float64) {
	q := int32(math.Round(s * 256))
	if q <= 0 {
		return
	}
	for i := range last {
		a, b := int32(last[i]), int32(first[i])
		last[i] = uint8((a*(256-q) + b*q + 128) >> 8)
		first[i] = uint8((b*(256-q) + a*q + 128) >> 8)
	}
}
