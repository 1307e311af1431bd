package kernels

// ConvWeight is a Conv3d weight [Cout, Cin, KT, KH, KW] with bias [Cout];
// padding is K/2 (zeros) on every axis and stride 1, as in reel-tiny.
type ConvWeight struct {
	Cout, Cin, KT, KH, KW int
	// W is the weight in PyTorch's layout; nil when the convolution runs
	// through Winograd (wino holds it transformed instead).
	W, Bias []float32
	wino    []float32 // Winograd-domain weights (winogradWeights), or nil
}

// NewConvWeight wraps Conv3d weights. bias is used, not copied; so is w,
// except for the 3×3 convolutions that run through Winograd (see
// useWinograd), whose weights are transformed once here and w is not kept.
func NewConvWeight(cout, cin, kt, kh, kw int, w, bias []float32) *ConvWeight {
	return newConvWeight(cout, cin, kt, kh, kw, w, bias, useWinograd(cout, cin, kt, kh, kw))
}

func newConvWeight(cout, cin, kt, kh, kw int, w, bias []float32, wino bool) *ConvWeight {
	if len(w) != cout*cin*kt*kh*kw || len(bias) != cout {
		panic("kernels: NewConvWeight: bad sizes")
	}
	cw := &ConvWeight{Cout: cout, Cin: cin, KT: kt, KH: kh, KW: kw, W: w, Bias: bias}
	if wino {
		if kh != 3 || kw != 3 {
			panic("kernels: NewConvWeight: Winograd needs a 3×3 kernel")
		}
		cw.wino, cw.W = winogradWeights(cout, cin, kt, w), nil
	}
	return cw
}

// Bytes is the weight's resident size.
func (cw *ConvWeight) Bytes() int { return 4 * (len(cw.W) + len(cw.wino) + len(cw.Bias)) }

// Conv3D computes out [Cout, T, H, W] from in [Cin, T, H, W].
//
// It is a GEMM: out[Cout, P] = W[Cout, Cin·taps] · im2col[Cin·taps, P] with
// the bias per row. W is read in place (PyTorch's layout is already
// row-major [Cout][Cin][taps]); im2col is packed panel by panel (see
// convSource), so scratch memory is a few panels whatever the input size.
func Conv3D(out, in []float32, t, h, w int, cw *ConvWeight) {
	conv3D(defaultImpl(), nil, out, in, t, h, w, cw, nil)
}

// Conv3DWith is Conv3D with the Winograd scratch taken from s.
func Conv3DWith(s *ConvScratch, out, in []float32, t, h, w int, cw *ConvWeight) {
	conv3D(defaultImpl(), s, out, in, t, h, w, cw, nil)
}

// Conv3DResidual computes out = Conv3D(in) like Conv3D, then res += out
// ([Cout, T, H, W] too), tile by tile as the tiles are finished, while
// they are in cache: a residual block's closing add without another pass.
func Conv3DResidual(res, out, in []float32, t, h, w int, cw *ConvWeight) {
	conv3DResidual(defaultImpl(), nil, res, out, in, t, h, w, cw)
}

// Conv3DResidualWith is Conv3DResidual with the Winograd scratch taken
// from s.
func Conv3DResidualWith(s *ConvScratch, res, out, in []float32, t, h, w int, cw *ConvWeight) {
	conv3DResidual(defaultImpl(), s, res, out, in, t, h, w, cw)
}

func conv3DResidual(im *impl, s *ConvScratch, res, out, in []float32, t, h, w int, cw *ConvWeight) {
	if cw.wino != nil {
		winogradConv3D(im, s, res, out, in, t, h, w, cw)
		return
	}
	n := t * h * w
	if len(res) < cw.Cout*n {
		panic("kernels: Conv3DResidual: bad sizes")
	}
	conv3D(im, nil, out, in, t, h, w, cw, func(i0, i1, j0, j1 int) {
		for i := i0; i < i1; i++ {
			addInto(&im.vec, res[i*n+j0:i*n+j1], out[i*n+j0:i*n+j1])
		}
	})
}

func conv3D(im *impl, s *ConvScratch, out, in []float32, t, h, w int, cw *ConvWeight, epilogue func(i0, i1, j0, j1 int)) {
	if cw.wino != nil {
		if epilogue != nil { // conv3DResidual sends Winograd weights straight to winogradConv3D
			panic("kernels: Conv3D: an epilogue needs the im2col path")
		}
		winogradConv3D(im, s, nil, out, in, t, h, w, cw)
		return
	}
	n := t * h * w
	k := cw.Cin * cw.KT * cw.KH * cw.KW
	if len(in) < cw.Cin*n || len(out) < cw.Cout*n || len(cw.W) < cw.Cout*k || len(cw.Bias) < cw.Cout {
		panic("kernels: Conv3D: bad sizes")
	}
	g := gemm{
		m: cw.Cout, n: n, k: k,
		a: cw.W, lda: k,
		c: out, ldc: n,
		rowBias:  cw.Bias,
		source:   func() panelSource { return newConvSource(in, cw, t, h, w) },
		epilogue: epilogue,
	}
	g.run(im)
}

// PixelShuffle3D rearranges in [C·ft·fh·fw, T, H, W] into out
// [C, T·ft, H·fh, W·fw]; in-channel = ((c·ft+it)·fh+ih)·fw+iw.
// It walks the output row by row: each output row (c, z', y') interleaves
// the fw input rows (c, it, ih, iw) at (z, y), so reads are sequential and
// every output element is written once, in order.
func PixelShuffle3D(out, in []float32, c, t, h, w, ft, fh, fw int) {
	pixelShuffle3D(defaultImpl().pool, out, in, c, t, h, w, ft, fh, fw)
}

// pixelShuffle3D splits the output planes (c, z') over pool.
func pixelShuffle3D(pool *Pool, out, in []float32, c, t, h, w, ft, fh, fw int) {
	T, H, W := t*ft, h*fh, w*fw
	n := t * h * w
	if len(in) < c*ft*fh*fw*n || len(out) < c*T*H*W {
		panic("kernels: PixelShuffle3D: bad sizes")
	}
	pool.Rows(c*T, max(1, 4096/(H*W)), func(p0, p1 int) {
		for p := p0; p < p1; p++ {
			ch, zo := p/T, p%T
			z, it := zo/ft, zo%ft
			for yo := 0; yo < H; yo++ {
				y, ih := yo/fh, yo%fh
				dst := out[((ch*T+zo)*H+yo)*W : ((ch*T+zo)*H+yo+1)*W]
				row := func(iw int) []float32 {
					cin := ((ch*ft+it)*fh+ih)*fw + iw
					return in[cin*n+(z*h+y)*w : cin*n+(z*h+y)*w+w]
				}
				if fw == 2 { // the decoder's case: one sequential pass, two rows in
					interleave2(dst, row(0), row(1))
					continue
				}
				for iw := 0; iw < fw; iw++ {
					for x, v := range row(iw) {
						dst[x*fw+iw] = v
					}
				}
			}
		}
	})
}
