package videotest

import (
	"fmt"
	"math"
)

// PSNR is the peak signal-to-noise ratio of 8-bit buffers a against b, in
// dB (+Inf when they are equal). They must be of one non-zero length.
func PSNR(a, b []byte) (float64, error) {
	if len(a) != len(b) || len(a) == 0 {
		return 0, fmt.Errorf("videotest: PSNR of %d against %d bytes", len(a), len(b))
	}
	var se float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		se += d * d
	}
	if se == 0 {
		return math.Inf(1), nil
	}
	return 10 * math.Log10(255*255/(se/float64(len(a)))), nil
}
