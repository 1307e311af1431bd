package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFP8PanelsExact checks that packing an FP8 weight gives exactly
// decode(code)·scale (the table decode of the reference definition) for
// every non-NaN code, subnormals and both zeros included, through the
// vector decoder where the CPU has one and through the scalar loop, for
// each panel width, with scales of many magnitudes (and one too large for
// the vector decode, which must fall back).
func TestFP8PanelsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const in = 254 // every code once per row, in shuffled order
	for _, nr := range []int{8, 16, 32} {
		for _, big := range []bool{false, true} {
			out := 2*nr + 3
			codes := make([]uint8, 0, out*in)
			for range out {
				row := make([]uint8, 0, in)
				for c := 0; c < 256; c++ {
					if c&0x7f != 0x7f {
						row = append(row, uint8(c))
					}
				}
				r.Shuffle(len(row), func(i, j int) { row[i], row[j] = row[j], row[i] })
				codes = append(codes, row...)
			}
			scale := make([]float32, out)
			for j := range scale {
				scale[j] = float32(math.Ldexp(1+r.Float64(), r.IntN(40)-30))
			}
			if big {
				scale[out/2] = 1000
			}
			p := newFP8Panels(out, in, codes, scale, nr)
			if big && p.decode != nil {
				t.Fatalf("nr %d: vector decode kept for a scale of 1000", nr)
			}
			dst := make([]float32, in*nr)
			for j0 := 0; j0 < out; j0 += nr {
				for _, k0 := range []int{0, 1, 77} {
					kc := in - k0
					p.pack(dst, k0, kc, j0, nr)
					for kk := 0; kk < kc; kk++ {
						for jj := 0; jj < nr; jj++ {
							var want float32
							if j := j0 + jj; j < out {
								want = e4m3[codes[j*in+k0+kk]] * scale[j]
							}
							if got := dst[kk*nr+jj]; math.Float32bits(got) != math.Float32bits(want) {
								t.Fatalf("nr %d vec %v: B[%d][%d] = %g, want %g", nr, p.decode != nil, k0+kk, j0+jj, got, want)
							}
						}
					}
				}
			}
		}
	}
}
