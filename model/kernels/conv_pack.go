package kernels

import "math/bits"

// convSource is the im2col of a Conv3D as a panelSource: B[k][p] is input
// channel k/taps at output position p shifted by tap k%taps, or zero where
// the shifted position falls into the padding. Panels are built straight
// from the input, nr positions at a time, so the full im2col matrix (K × P,
// tens of MB for the VAE) never exists and a call's scratch stays at one
// panel per worker.
type convSource struct {
	in           []float32
	cin, t, h, w int
	kt, kh, kw   int
	off          []int // per tap: input offset of the tap (dz·h·w + dy·w + dx)
	// valid holds, per tap, one bit per position of the current panel:
	// set where the shifted position is inside the input.
	valid            []uint32
	rowOff           []int // per tap: offset of the panel's first position, j0 + off
	panelJ0, panelNR int   // panel that valid and rowOff describe (nr = 0: none yet)
}

func newConvSource(in []float32, cw *ConvWeight, t, h, w int) *convSource {
	taps := cw.KT * cw.KH * cw.KW
	s := &convSource{
		in: in, cin: cw.Cin, t: t, h: h, w: w,
		kt: cw.KT, kh: cw.KH, kw: cw.KW,
		off:    make([]int, taps),
		valid:  make([]uint32, taps),
		rowOff: make([]int, taps),
	}
	tap := 0
	for a := 0; a < cw.KT; a++ {
		for b := 0; b < cw.KH; b++ {
			for c := 0; c < cw.KW; c++ {
				s.off[tap] = ((a-cw.KT/2)*h+(b-cw.KH/2))*w + (c - cw.KW/2)
				tap++
			}
		}
	}
	return s
}

// classify computes the per-tap validity masks of the panel of positions
// [j0, j0+nr) (nr ≤ 32): one mask per axis offset, ANDed per tap, so the
// cost is (kt+kh+kw)·nr compares rather than taps·nr.
func (s *convSource) classify(j0, nr int) {
	if s.panelNR == nr && s.panelJ0 == j0 {
		return
	}
	s.panelJ0, s.panelNR = j0, nr
	var zm, ym, xm [16]uint32 // per axis offset index (kernel sizes ≤ 16)
	n := s.t * s.h * s.w
	z, y, x := j0/(s.h*s.w), j0/s.w%s.h, j0%s.w
	if x+nr <= s.w { // the panel lies in one row: each mask is a run of bits
		s.classifyRow(&zm, &ym, &xm, z, y, x, nr)
	} else {
		s.classifyAny(&zm, &ym, &xm, z, y, x, j0, nr, n)
	}
	tap := 0
	for a := 0; a < s.kt; a++ {
		for b := 0; b < s.kh; b++ {
			for c := 0; c < s.kw; c++ {
				s.valid[tap] = zm[a] & ym[b] & xm[c]
				s.rowOff[tap] = j0 + s.off[tap]
				tap++
			}
		}
	}
}

// classifyRow sets the axis masks of a panel of nr positions starting at
// (z, y, x) within one row: the z and y masks are all or nothing, and tap
// column c keeps the positions whose shifted x is inside the row, a run of
// bits computed without visiting them.
func (s *convSource) classifyRow(zm, ym, xm *[16]uint32, z, y, x, nr int) {
	full := uint32(1)<<nr - 1
	for a := 0; a < s.kt; a++ {
		if uint(z+a-s.kt/2) < uint(s.t) {
			zm[a] = full
		}
	}
	for b := 0; b < s.kh; b++ {
		if uint(y+b-s.kh/2) < uint(s.h) {
			ym[b] = full
		}
	}
	for c := 0; c < s.kw; c++ {
		d := c - s.kw/2 // position jj reads x+jj+d: valid for lo ≤ jj < hi
		lo, hi := max(0, -d-x), min(nr, s.w-d-x)
		if lo < hi {
			xm[c] = (uint32(1)<<hi - 1) &^ (uint32(1)<<lo - 1)
		}
	}
}

// classifyAny sets the axis masks of a panel that crosses rows, position
// by position.
func (s *convSource) classifyAny(zm, ym, xm *[16]uint32, z, y, x, j0, nr, n int) {
	for jj := 0; jj < nr && j0+jj < n; jj++ {
		bit := uint32(1) << jj
		for a := 0; a < s.kt; a++ {
			if uint(z+a-s.kt/2) < uint(s.t) {
				zm[a] |= bit
			}
		}
		for b := 0; b < s.kh; b++ {
			if uint(y+b-s.kh/2) < uint(s.h) {
				ym[b] |= bit
			}
		}
		for c := 0; c < s.kw; c++ {
			if uint(x+c-s.kw/2) < uint(s.w) {
				xm[c] |= bit
			}
		}
		if x++; x == s.w {
			x = 0
			if y++; y == s.h {
				y, z = 0, z+1
			}
		}
	}
}

func (s *convSource) pack(dst []float32, k0, kc, j0, nr int) {
	if s.kt > 16 || s.kh > 16 || s.kw > 16 || nr > 32 {
		panic("kernels: Conv3D: kernel or panel too large")
	}
	s.classify(j0, nr)
	full := uint32(1)<<nr - 1
	n := s.t * s.h * s.w
	taps := len(s.off)
	ci, tap := k0/taps, k0%taps
	vpack := convPack32
	if nr == 16 {
		vpack = convPack16
	}
	if (nr == 32 || nr == 16) && vpack != nil && kc > 0 {
		if len(dst) < kc*nr || (ci+(tap+kc-1)/taps+1)*n > len(s.in) {
			panic("kernels: Conv3D: panel out of range")
		}
		vpack(&dst[0], &s.in[0], n, &s.rowOff[0], &s.valid[0], taps, ci, tap, kc)
		return
	}
	for kk := 0; kk < kc; kk++ {
		row := dst[kk*nr : kk*nr+nr]
		plane := s.in[ci*n : ci*n+n]
		m, o := s.valid[tap], j0+s.off[tap]
		switch {
		case m == full:
			copyPanelRow(row, plane[o:o+nr])
		case m == 0:
			clear(row)
		default:
			clear(row)
			for ; m != 0; m &= m - 1 {
				jj := bits.TrailingZeros32(m)
				row[jj] = plane[o+jj]
			}
		}
		if tap++; tap == taps {
			tap, ci = 0, ci+1
		}
	}
}

// copyPanelRow copies one panel row; the fixed-size cases compile to a few
// vector moves instead of a memmove call.
func copyPanelRow(dst, src []float32) {
	switch len(dst) {
	case 32:
		*(*[32]float32)(dst) = *(*[32]float32)(src)
	case 16:
		*(*[16]float32)(dst) = *(*[16]float32)(src)
	case 8:
		*(*[8]float32)(dst) = *(*[8]float32)(src)
	default:
		copy(dst, src)
	}
}
