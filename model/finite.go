package model

import (
	"fmt"
	"math"
)

// e4m3NaN is E4M3FN's only non-finite encoding (S.1111.111): the format
// has no infinities, and every other code decodes to a finite value.
const e4m3NaN = 0x7f

// checkFP8 refuses FP8 weights that decode to NaN, or whose per-row scale
// is not finite: served, they give a black video marked succeeded.
func checkFP8(file, name string, codes []uint8, scale []float32, in int) error {
	for i, c := range codes {
		if c&0x7f == e4m3NaN {
			return fmt.Errorf("%w: %s: tensor %q: FP8 code 0x%02x at row %d, column %d is NaN", ErrWeights, file, name, c, i/in, i%in)
		}
	}
	return checkFinite(file, name+"_scale", scale)
}

// checkFinite refuses float weights holding NaN or ±Inf.
func checkFinite(file, name string, v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%w: %s: tensor %q: element %d is %v", ErrWeights, file, name, i, x)
		}
	}
	return nil
}
