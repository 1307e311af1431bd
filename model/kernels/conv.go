package kernels

// ConvWeight is a Conv3d weight [Cout, Cin, KT, KH, KW] with bias [Cout];
// padding is K/2 (zeros) on every axis and stride 1, as in reel-tiny.
type ConvWeight struct {
	Cout, Cin, KT, KH, KW int
	W, Bias               []float32
}

// NewConvWeight wraps Conv3d weights. w and bias are used, not copied.
func NewConvWeight(cout, cin, kt, kh, kw int, w, bias []float32) *ConvWeight {
	if len(w) != cout*cin*kt*kh*kw || len(bias) != cout {
		panic("kernels: NewConvWeight: bad sizes")
	}
	return &ConvWeight{Cout: cout, Cin: cin, KT: kt, KH: kh, KW: kw, W: w, Bias: bias}
}

// Conv3D computes out [Cout, T, H, W] from in [Cin, T, H, W].
func Conv3D(out, in []float32, t, h, w int, cw *ConvWeight) {
	pt, ph, pw := cw.KT/2, cw.KH/2, cw.KW/2
	n := t * h * w
	for co := 0; co < cw.Cout; co++ {
		o := out[co*n : (co+1)*n]
		for i := range o {
			o[i] = cw.Bias[co]
		}
		for ci := 0; ci < cw.Cin; ci++ {
			src := in[ci*n : (ci+1)*n]
			for a := 0; a < cw.KT; a++ {
				for b := 0; b < cw.KH; b++ {
					for c := 0; c < cw.KW; c++ {
						wv := cw.W[(((co*cw.Cin+ci)*cw.KT+a)*cw.KH+b)*cw.KW+c]
						for z := 0; z < t; z++ {
							zz := z + a - pt
							if zz < 0 || zz >= t {
								continue
							}
							for y := 0; y < h; y++ {
								yy := y + b - ph
								if yy < 0 || yy >= h {
									continue
								}
								for x := 0; x < w; x++ {
									xx := x + c - pw
									if xx < 0 || xx >= w {
										continue
									}
									o[(z*h+y)*w+x] += wv * src[(zz*h+yy)*w+xx]
								}
							}
						}
					}
				}
			}
		}
	}
}

// PixelShuffle3D rearranges in [C·ft·fh·fw, T, H, W] into out
// [C, T·ft, H·fh, W·fw]; in-channel = ((c·ft+it)·fh+ih)·fw+iw.
func PixelShuffle3D(out, in []float32, c, t, h, w, ft, fh, fw int) {
	T, H, W := t*ft, h*fh, w*fw
	for ch := 0; ch < c; ch++ {
		for it := 0; it < ft; it++ {
			for ih := 0; ih < fh; ih++ {
				for iw := 0; iw < fw; iw++ {
					src := in[(((ch*ft+it)*fh+ih)*fw+iw)*t*h*w:]
					for z := 0; z < t; z++ {
						for y := 0; y < h; y++ {
							for x := 0; x < w; x++ {
								out[((ch*T+z*ft+it)*H+y*fh+ih)*W+x*fw+iw] = src[(z*h+y)*w+x]
							}
						}
					}
				}
			}
		}
	}
}
