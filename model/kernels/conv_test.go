package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// conv64 is Conv3D in float64 with the per-output sum of |terms| that
// scales float32 rounding error.
func conv64(in []float32, t, h, w int, cw *ConvWeight) (y, mag []float64) {
	n := t * h * w
	y = make([]float64, cw.Cout*n)
	mag = make([]float64, cw.Cout*n)
	for co := 0; co < cw.Cout; co++ {
		for p := 0; p < n; p++ {
			z, yy, x := p/(h*w), p/w%h, p%w
			acc, ab := float64(cw.Bias[co]), math.Abs(float64(cw.Bias[co]))
			for ci := 0; ci < cw.Cin; ci++ {
				for a := 0; a < cw.KT; a++ {
					for b := 0; b < cw.KH; b++ {
						for c := 0; c < cw.KW; c++ {
							zz, y2, xx := z+a-cw.KT/2, yy+b-cw.KH/2, x+c-cw.KW/2
							if zz < 0 || zz >= t || y2 < 0 || y2 >= h || xx < 0 || xx >= w {
								continue
							}
							v := float64(cw.W[(((co*cw.Cin+ci)*cw.KT+a)*cw.KH+b)*cw.KW+c]) * float64(in[ci*n+(zz*h+y2)*w+xx])
							acc += v
							ab += math.Abs(v)
						}
					}
				}
			}
			y[co*n+p], mag[co*n+p] = acc, ab
		}
	}
	return y, mag
}

func checkConv(t *testing.T, im *impl, r *rand.Rand, cin, cout, kt, kh, kw, tt, h, w int) {
	t.Helper()
	checkConvPath(t, im, r, cin, cout, kt, kh, kw, tt, h, w, useWinograd(cout, cin, kt, kh, kw))
}

// checkConvPath checks Conv3D through im2col or Winograd against the
// float64 sum, within a float32 rounding bound of the sum of |terms|
// (Winograd's transforms add a few roundings of sums of up to 9 terms;
// its bound is 4× the direct one's).
func checkConvPath(t *testing.T, im *impl, r *rand.Rand, cin, cout, kt, kh, kw, tt, h, w int, wino bool) {
	t.Helper()
	k := cin * kt * kh * kw
	ref := &ConvWeight{Cout: cout, Cin: cin, KT: kt, KH: kh, KW: kw, W: randSlice(r, cout*k, 0.2), Bias: randSlice(r, cout, 1)}
	cw := newConvWeight(cout, cin, kt, kh, kw, ref.W, ref.Bias, wino)
	if (cw.wino != nil) != wino {
		t.Fatalf("Winograd %v, want %v", cw.wino != nil, wino)
	}
	n := tt * h * w
	in := randSlice(r, cin*n, 1)
	out := randSlice(r, cout*n, 100)
	conv3D(im, nil, out, in, tt, h, w, cw, nil)
	if wino {
		// Scratch reused from an earlier call holds anything: NaNs here,
		// which would reach out through any element read before written.
		sc := &ConvScratch{buf: make([]float32, ConvScratchBytes(cout, cin, kt, 3, 3, tt, h, w, 8)/4+100)}
		for i := range sc.buf {
			sc.buf[i] = float32(math.NaN())
		}
		again := make([]float32, cout*n)
		conv3D(im, sc, again, in, tt, h, w, cw, nil)
		checkClose(t, "Conv3D through Winograd in reused scratch", again, out, 0, 0)
	}
	naive := make([]float32, cout*n)
	refConv3D(naive, in, tt, h, w, ref)
	want, mag := conv64(in, tt, h, w, ref)
	tol := 4 * math.Sqrt(float64(k)+1) * 0x1p-24
	if wino {
		tol *= 4
	}
	for i := range out {
		if e := math.Abs(float64(out[i]) - want[i]); !(e <= tol*mag[i]) {
			t.Fatalf("cin=%d cout=%d k=%dx%dx%d in %dx%dx%d winograd=%v: out[%d]=%g want %g (naive %g), error %.3g×mag, bound %.3g",
				cin, cout, kt, kh, kw, tt, h, w, wino, i, out[i], want[i], naive[i], e/mag[i], tol)
		}
	}
}

// Winograd convolutions match the float64 sum on the decoder's wide
// layers (reduced grids), on odd grids (partial tiles), on frame counts
// that split into several blocks, and through the residual add.
func TestConv3DWinograd(t *testing.T) {
	forEachKernel(t, func(t *testing.T, im *impl) {
		r := rand.New(rand.NewPCG(9, 10))
		cases := [][7]int{ // cin, cout, kt, t, h, w
			{128, 128, 3, 2, 8, 8},
			{128, 512, 1, 1, 8, 8},
			{64, 64, 3, 3, 16, 16},
			{64, 256, 1, 2, 16, 16},
			{3, 5, 3, 3, 5, 7},
			{7, 9, 1, 2, 1, 1},
			{5, 4, 3, 1, 2, 3},
			{6, 7, 3, 4, 3, 1},
		}
		for _, c := range cases {
			checkConvPath(t, im, r, c[0], c[1], c[2], 3, 3, c[3], c[4], c[5], true)
		}
		// Several blocks of frames (a 16×16 frame at 64 channels in and
		// out is 512 KiB of scratch).
		p := newWinogradPlan(&ConvWeight{Cin: 64, Cout: 64, KT: 3}, 5, 16, 16)
		if p.fb >= 5 {
			t.Fatalf("a 5-frame 16×16 call at 64 channels fits one block (%d frames): no multi-block case", p.fb)
		}
		checkConvPath(t, im, r, 64, 64, 3, 3, 3, 5, 16, 16, true)

		cw := newConvWeight(7, 5, 3, 3, 3, randSlice(r, 7*5*27, 0.2), randSlice(r, 7, 1), true)
		n := 3 * 5 * 6
		in := randSlice(r, 5*n, 1)
		out := make([]float32, 7*n)
		conv3D(im, nil, out, in, 3, 5, 6, cw, nil)
		res := randSlice(r, 7*n, 1)
		want := append([]float32(nil), res...)
		for i := range want {
			want[i] += out[i]
		}
		conv3DResidual(im, &ConvScratch{}, res, make([]float32, 7*n), in, 3, 5, 6, cw)
		checkClose(t, "Conv3DResidual through Winograd", res, want, 0, 0)
	})
}

func TestConv3D(t *testing.T) {
	forEachKernel(t, func(t *testing.T, im *impl) {
		r := rand.New(rand.NewPCG(5, 6))
		// The decoder's kinds of layer, at reduced sizes, plus odd shapes.
		cases := [][8]int{
			{8, 128, 3, 3, 3, 4, 8, 8},
			{16, 12, 1, 3, 3, 4, 8, 8},
			{16, 3, 1, 3, 3, 2, 16, 16},
			{4, 7, 3, 3, 3, 3, 5, 7},
			{3, 5, 1, 1, 1, 2, 3, 3},
			{2, 9, 3, 1, 3, 1, 1, 1},
			{5, 6, 3, 3, 3, 1, 2, 40},
			{6, 13, 1, 3, 3, 1, 33, 1},
		}
		for _, c := range cases {
			checkConv(t, im, r, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7])
		}
		for it := 0; it < 10; it++ {
			c := [8]int{1 + r.IntN(9), 1 + r.IntN(20), 1 + 2*r.IntN(2), 1 + 2*r.IntN(2), 1 + 2*r.IntN(2), 1 + r.IntN(5), 1 + r.IntN(9), 1 + r.IntN(40)}
			t.Run(fmt.Sprint(c), func(t *testing.T) { checkConv(t, im, r, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]) })
		}
	})
}

func TestPixelShuffle3D(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range [][7]int{{2, 2, 3, 4, 2, 2, 2}, {2, 2, 3, 9, 2, 2, 2}, {3, 1, 2, 2, 1, 2, 2}, {1, 3, 1, 5, 2, 1, 3}} {
		c, tt, h, w, ft, fh, fw := s[0], s[1], s[2], s[3], s[4], s[5], s[6]
		in := randSlice(r, c*ft*fh*fw*tt*h*w, 1)
		got, want := make([]float32, len(in)), make([]float32, len(in))
		PixelShuffle3D(got, in, c, tt, h, w, ft, fh, fw)
		refPixelShuffle3D(want, in, c, tt, h, w, ft, fh, fw)
		checkClose(t, "pixelshuffle", got, want, 0, 0)
	}
}

// TestIm2col checks the benchmark's im2col (gonum baseline) against the
// naive convolution: W·col + bias must equal Conv3D.
func TestIm2col(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	cin, cout, kt, kh, kw, tt, h, w := 3, 4, 3, 3, 1, 2, 5, 33
	k, n := cin*kt*kh*kw, tt*h*w
	cw := newConvWeight(cout, cin, kt, kh, kw, randSlice(r, cout*k, 1), make([]float32, cout), false)
	in := randSlice(r, cin*n, 1)
	col := im2col(in, cin, kt, kh, kw, tt, h, w)
	got := make([]float32, cout*n)
	for co := 0; co < cout; co++ {
		for kk := 0; kk < k; kk++ {
			for p := 0; p < n; p++ {
				got[co*n+p] += cw.W[co*k+kk] * col[kk*n+p]
			}
		}
	}
	want := make([]float32, cout*n)
	refConv3D(want, in, tt, h, w, cw)
	checkClose(t, "im2col", got, want, 1e-5, 1e-5)
}

// TestConv3DResidual checks that the fused residual add gives exactly
// Conv3D then res += out, on every kernel, with edge tiles (Cout and
// positions not multiples of the tile).
func TestConv3DResidual(t *testing.T) {
	forEachKernel(t, func(t *testing.T, im *impl) {
		r := rand.New(rand.NewPCG(21, 2))
		for _, s := range []struct{ cin, cout, kt, tt, h, w int }{{5, 7, 3, 2, 5, 6}, {16, 32, 1, 4, 16, 16}} {
			cw := NewConvWeight(s.cout, s.cin, s.kt, 3, 3, randSlice(r, s.cout*s.cin*s.kt*9, 0.2), randSlice(r, s.cout, 1))
			n := s.tt * s.h * s.w
			in := randSlice(r, s.cin*n, 1)
			out := make([]float32, s.cout*n)
			conv3D(im, nil, out, in, s.tt, s.h, s.w, cw, nil)
			res := randSlice(r, s.cout*n, 1)
			want := append([]float32(nil), res...)
			for i := range want {
				want[i] += out[i]
			}
			conv3DResidual(im, nil, res, make([]float32, s.cout*n), in, s.tt, s.h, s.w, cw)
			checkClose(t, "Conv3DResidual", res, want, 0, 0)
		}
	})
}

// The vector Winograd transforms give bit for bit what the scalar loops
// give (same operations, same order), on rows of 4 and 8 tiles and on
// rows with a scalar tail.
func TestWinogradVectorTransforms(t *testing.T) {
	if !winoVec {
		t.Skip("no vector Winograd transforms on this CPU or build")
	}
	r := rand.New(rand.NewPCG(31, 4))
	for _, s := range [][2]int{{8, 8}, {16, 16}, {6, 10}, {9, 18}, {3, 7}} {
		h, w := s[0], s[1]
		scalar := newWinogradPlan(&ConvWeight{Cin: 1, Cout: 1, KT: 1}, 1, h, w)
		scalar.vec = false
		vec := scalar
		vec.vec = true
		plane := randSlice(r, h*w, 1)
		stride := scalar.nt + 5
		got, want := make([]float32, 16*stride), make([]float32, 16*stride)
		rows := make([]float32, 4*(2*scalar.tw+2))
		vec.input(got, stride, plane, rows)
		scalar.input(want, stride, plane, rows)
		checkClose(t, fmt.Sprintf("input %dx%d", h, w), got, want, 0, 0)

		m := randSlice(r, 16*stride, 1)
		res := randSlice(r, h*w, 1)
		gotOut, wantOut := make([]float32, h*w), make([]float32, h*w)
		gotRes, wantRes := append([]float32(nil), res...), append([]float32(nil), res...)
		vec.output(&goVec, gotOut, gotRes, m, stride, 0.25, rows)
		scalar.output(&goVec, wantOut, wantRes, m, stride, 0.25, rows)
		checkClose(t, fmt.Sprintf("output %dx%d", h, w), gotOut, wantOut, 0, 0)
		checkClose(t, fmt.Sprintf("residual %dx%d", h, w), gotRes, wantRes, 0, 0)
	}
}
