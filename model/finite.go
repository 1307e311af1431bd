package model

import (
	"encoding/binary"
	"fmt"
	"math"
)

// e4m3NaN is E4M3FN's only non-finite encoding (S.1111.111): the format
// has no infinities, and every other code decodes to a finite value.
const e4m3NaN = 0x7f

// checkFP8 refuses FP8 weights that decode to NaN, or whose per-row scale
// is not finite: served, they give a black video marked succeeded.
func checkFP8(file, name string, codes []uint8, scale []float32, in int) error {
	// Eight codes at a time first (a load checks millions): a byte whose
	// low seven bits are all ones becomes 0x80 when 1 is added to it, and
	// no other seven-bit value does, nor carries into the next byte.
	const low7, ones, high = 0x7f7f7f7f7f7f7f7f, 0x0101010101010101, 0x8080808080808080
	clean := 0
	for ; clean+8 <= len(codes); clean += 8 {
		if (binary.LittleEndian.Uint64(codes[clean:])&low7+ones)&high != 0 {
			break
		}
	}
	for i := clean; i < len(codes); i++ {
		if c := codes[i]; c&0x7f == e4m3NaN {
			return fmt.Errorf("%w: %s: tensor %q: FP8 code 0x%02x at row %d, column %d is NaN", ErrWeights, file, name, c, i/in, i%in)
		}
	}
	return checkFinite(file, name+"_scale", scale)
}

// checkFinite refuses float weights holding NaN or ±Inf.
func checkFinite(file, name string, v []float32) error {
	for i, x := range v {
		if math.Float32bits(x)&0x7f800000 == 0x7f800000 { // all-ones exponent: NaN or ±Inf
			return fmt.Errorf("%w: %s: tensor %q: element %d is %v", ErrWeights, file, name, i, x)
		}
	}
	return nil
}
