package fp8

import (
	"math"
	"sort"
)

// refEncoder is the slow, obviously-correct encoder the fast ones are
// checked against: the nearest of the format's non-negative values (found
// by binary search), ties to the even code, then the overflow rule. The
// value list is built from the OFP8 formula (specValue), not from the
// decode tables under test.
type refEncoder struct {
	vals  []float64 // ascending magnitudes; vals[i] is code i
	limit uint8     // first code past the largest finite: the overflow code
	nan   uint8     // code for NaN (before the sign bit)
}

// newRefEncoder lists codes 0..maxCode, plus one extension value at code
// maxCode+1: the value the format would have if its exponent range went on
// (480 for E4M3FN, 65536 for E5M2). Rounding onto the extension code means
// overflow, and that code is exactly the non-saturating overflow result:
// 0x7F (NaN) for E4M3FN and 0x7C (Inf) for E5M2. Everything beyond it
// rounds to it too.
func newRefEncoder(ebits, mbits, bias int, fn bool, maxCode uint8, ext float64, nan uint8) *refEncoder {
	r := &refEncoder{limit: maxCode + 1, nan: nan}
	for c := 0; c <= int(maxCode); c++ {
		v, _, _ := specValue(uint8(c), ebits, mbits, bias, fn)
		r.vals = append(r.vals, v)
	}
	r.vals = append(r.vals, ext)
	if !sort.Float64sAreSorted(r.vals) {
		panic("reference values not ascending")
	}
	return r
}

var (
	refE4M3 = newRefEncoder(4, 3, 7, true, 0x7e, 480, 0x7f)
	refE5M2 = newRefEncoder(5, 2, 15, false, 0x7b, 65536, 0x7f)
)

func (r *refEncoder) encode(x float32) uint8 {
	sign := uint8(0)
	if math.Signbit(float64(x)) {
		sign = 0x80
	}
	if math.IsNaN(float64(x)) {
		return sign | r.nan
	}
	a := math.Abs(float64(x))           // exact; midpoints are exact in float64 too
	i := sort.SearchFloat64s(r.vals, a) // first vals[i] >= a
	var c int
	switch {
	case i == len(r.vals):
		c = int(r.limit)
	case r.vals[i] == a || i == 0:
		c = i
	default:
		lo, hi := r.vals[i-1], r.vals[i]
		switch dl, dh := a-lo, hi-a; {
		case dl < dh:
			c = i - 1
		case dh < dl:
			c = i
		case (i-1)%2 == 0:
			c = i - 1
		default:
			c = i
		}
	}
	return sign | uint8(c)
}

// encodeSat is clamp-then-encode, written independently of the fast path.
func (r *refEncoder) encodeSat(x float32) uint8 {
	maxv := float32(r.vals[r.limit-1])
	if x > maxv {
		x = maxv
	} else if x < -maxv {
		x = -maxv
	}
	return r.encode(x)
}
