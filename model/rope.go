package model

import "math"

// ropeTable holds the 3-D rotary tables of one (T, H, W) token grid, laid
// out [token][head_dim]: within each axis slice of d channels, entry j and
// j+d/2 share angle pos·base^(−2j/d) (rotate-half form, reel_tiny.py
// rope_tables).
type ropeTable struct {
	hd       int
	split    []int
	cos, sin []float32
}

// newRopeTable builds the tables for a t×h×w grid with tokens in (t, h, w)
// row-major order. The float32 roundings follow PyTorch: the exponent
// −2j/d and base^exponent, the angle pos·freq and cos/sin are each rounded
// to float32.
func newRopeTable(t, h, w int, split []int, base float64) *ropeTable {
	hd := 0
	for _, d := range split {
		hd += d
	}
	n := t * h * w
	r := &ropeTable{hd: hd, split: split, cos: make([]float32, n*hd), sin: make([]float32, n*hd)}
	for tok := 0; tok < n; tok++ {
		pos := [3]int{tok / (h * w), tok / w % h, tok % w}
		o := tok * hd
		for a, d := range split {
			for j := 0; j < d/2; j++ {
				e := -float32(2*j) / float32(d)
				freq := float32(math.Pow(float64(float32(base)), float64(e)))
				ang := float32(pos[a]) * freq
				c := float32(math.Cos(float64(ang)))
				s := float32(math.Sin(float64(ang)))
				r.cos[o+j], r.cos[o+j+d/2] = c, c
				r.sin[o+j], r.sin[o+j+d/2] = s, s
			}
			o += d
		}
	}
	return r
}

// apply rotates the heads heads of rows [r0, r1) in place; x starts at
// row r0, head hh of row i starts at x[(i-r0)*stride + hh*hd], and row i
// is token i mod n of its sequence (rows may stack several sequences of n
// tokens). out = x·cos + rot(x)·sin with rot = [−x2, x1] per axis slice.
func (r *ropeTable) apply(x []float32, r0, r1, n, heads, stride int) {
	hd := r.hd
	for i := r0; i < r1; i++ {
		tok := i % n
		cs := r.cos[tok*hd : (tok+1)*hd]
		sn := r.sin[tok*hd : (tok+1)*hd]
		for hh := 0; hh < heads; hh++ {
			v := x[(i-r0)*stride+hh*hd : (i-r0)*stride+(hh+1)*hd]
			o := 0
			for _, d := range r.split {
				half := d / 2
				for j := o; j < o+half; j++ {
					x1, x2 := v[j], v[j+half]
					v[j] = float32(x1*cs[j]) + float32(-x2*sn[j])
					v[j+half] = float32(x2*cs[j+half]) + float32(x1*sn[j+half])
				}
				o += d
			}
		}
	}
}
