package model

import (
	"sync"

	"github.com/reel-video/reel/model/kernels"
)

// vaeDecoder is reel_tiny.py Decoder: latent [8, T, 8, 8] → video
// [3, 4T, 64, 64]. Convolutions zero-pad inside whatever they are given, so
// decoding a chunk depends on that chunk alone.
type vaeDecoder struct {
	cfg              Config
	convIn           *kernels.ConvWeight
	res0, res1, res2 resBlock
	up0, up1, up2    upBlock
	normOut          []float32
	convOut          *kernels.ConvWeight
	mean, std        []float32 // latent de-normalisation, per channel
	scratch          scratchList
}

// scratchList keeps the scratch of finished chunk decodes for the next
// ones: one decodeScratch per call running at once (a worker decodes one
// chunk at a time, so one in all), for the decoder's life. Allocating a
// chunk's 10 MB of activations and the Winograd buffers afresh each call,
// zeroed and faulted in on one core, took a tenth of a call on two.
type scratchList struct {
	mu   sync.Mutex
	free []*decodeScratch
}

// decodeScratch is one decode call's memory besides its input and output:
// the activation buffers and the convolutions' Winograd scratch, each
// grown to exactly the largest call's need (internal/mem replays this).
type decodeScratch struct {
	act  []float32
	conv kernels.ConvScratch
}

// activations returns n floats, not cleared: decode writes every element
// before reading it.
func (d *decodeScratch) activations(n int) []float32 {
	if len(d.act) < n {
		d.act = make([]float32, n)
	}
	return d.act[:n]
}

func (l *scratchList) get() *decodeScratch {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.free); n > 0 {
		s := l.free[n-1]
		l.free = l.free[:n-1]
		return s
	}
	return new(decodeScratch)
}

func (l *scratchList) put(s *decodeScratch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.free = append(l.free, s)
}

type resBlock struct {
	n1, n2 []float32
	c1, c2 *kernels.ConvWeight
}

type upBlock struct {
	conv       *kernels.ConvWeight
	cout       int
	ft, fh, fw int
}

func loadVAE(cfg Config, s tensors) (*vaeDecoder, error) {
	c0, c1, c2, c3 := cfg.VAEChannels[0], cfg.VAEChannels[1], cfg.VAEChannels[2], cfg.VAEChannels[3]
	v := &vaeDecoder{cfg: cfg}
	var err error
	conv := func(name string, cout, cin, kt, kh, kw int) *kernels.ConvWeight {
		if err != nil {
			return nil
		}
		var w, b []float32
		if w, err = s.widen("vae.decoder."+name+".weight", cout, cin, kt, kh, kw); err != nil {
			return nil
		}
		if b, err = s.widen("vae.decoder."+name+".bias", cout); err != nil {
			return nil
		}
		cw := kernels.NewConvWeight(cout, cin, kt, kh, kw, w, b)
		s.keep(cw.Bytes()) // Winograd layers keep their transformed weights instead of w
		return cw
	}
	vec := func(name string, n int) []float32 {
		if err != nil {
			return nil
		}
		var x []float32
		x, err = s.f32(name, n)
		return x
	}
	res := func(name string, ch, kt int) resBlock {
		return resBlock{
			n1: vec("vae.decoder."+name+".n1.g", ch),
			c1: conv(name+".c1", ch, ch, kt, 3, 3),
			n2: vec("vae.decoder."+name+".n2.g", ch),
			c2: conv(name+".c2", ch, ch, kt, 3, 3),
		}
	}
	up := func(name string, cin, cout, ft, fh, fw int) upBlock {
		return upBlock{conv: conv(name+".conv", cout*ft*fh*fw, cin, 1, 3, 3), cout: cout, ft: ft, fh: fh, fw: fw}
	}
	v.convIn = conv("conv_in", c0, cfg.LatentChannels, 3, 3, 3)
	v.res0 = res("res0", c0, 3)
	v.up0 = up("up0", c0, c1, 2, 2, 2)
	v.res1 = res("res1", c1, 3)
	v.up1 = up("up1", c1, c2, 2, 2, 2)
	v.res2 = res("res2", c2, 1)
	v.up2 = up("up2", c2, c3, 1, 2, 2)
	v.normOut = vec("vae.decoder.norm_out.g", c3)
	v.convOut = conv("conv_out", 3, c3, 1, 3, 3)
	v.mean = vec("vae.latent_mean", cfg.LatentChannels)
	v.std = vec("vae.latent_std", cfg.LatentChannels)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// denormalize returns z·std + mean per channel for a normalised latent
// [C, T, H, W] (the sampler works in normalised space).
func (v *vaeDecoder) denormalize(z []float32) []float32 {
	c := len(v.mean)
	per := len(z) / c
	out := make([]float32, len(z))
	for ch := 0; ch < c; ch++ {
		for i, x := range z[ch*per : (ch+1)*per] {
			out[ch*per+i] = float32(x*v.std[ch]) + v.mean[ch]
		}
	}
	return out
}

// decode runs the decoder on a de-normalised latent [8, t, 8, 8] and
// returns [3, 4t, 64, 64]. All intermediate activations live in three
// scratch buffers (10 MB for one chunk) that the decoder keeps between
// calls with the convolutions' Winograd scratch (decodeScratch), so a
// call's memory is fixed instead of depending on when the GC runs.
func (v *vaeDecoder) decode(z []float32, t int) []float32 {
	eps := float32(v.cfg.NormEps)
	h, w := v.cfg.LatentHeight(), v.cfg.LatentWidth()
	// size: the largest activation (channels × grid after each stage);
	// resSize: the largest one a residual block sees, which is all its
	// second scratch buffer needs.
	size, pos := v.convIn.Cout*t*h*w, t*h*w
	resSize := size
	for _, u := range []*upBlock{&v.up0, &v.up1, &v.up2} {
		pos *= u.ft * u.fh * u.fw
		size = max(size, u.cout*pos)
		if u != &v.up2 {
			resSize = max(resSize, u.cout*pos)
		}
	}
	// A chunk's scratch is kept for the next chunk; a longer call (a whole
	// latent) gets its own, so an engine that decoded a long video once
	// does not hold its hundreds of MB for good.
	var ds *decodeScratch
	if t <= v.cfg.LatentFramesPerChunk {
		ds = v.scratch.get()
		defer v.scratch.put(ds)
	} else {
		ds = new(decodeScratch)
	}
	buf, sc := ds.activations(2*size+resSize), &ds.conv
	x, tmp1, tmp2 := buf[:size:size], buf[size:2*size:2*size], buf[2*size:]

	x = x[:v.convIn.Cout*t*h*w]
	kernels.Conv3DWith(sc, x, z, t, h, w, v.convIn)
	v.res0.apply(sc, x, tmp1, tmp2, t, h, w, eps)
	x, t, h, w = v.up0.apply(sc, x, tmp1, t, h, w)
	v.res1.apply(sc, x, tmp1, tmp2, t, h, w, eps)
	x, t, h, w = v.up1.apply(sc, x, tmp1, t, h, w)
	v.res2.apply(sc, x, tmp1, tmp2, t, h, w, eps)
	x, t, h, w = v.up2.apply(sc, x, tmp1, t, h, w)
	kernels.ChanRMSNormSiLU(x, v.up2.cout, t*h*w, v.normOut, eps)
	out := make([]float32, 3*t*h*w)
	kernels.Conv3DWith(sc, out, x, t, h, w, v.convOut)
	return out
}

// apply does x += c2(silu(n2(c1(silu(n1(x)))))) in place, using a and b
// (at least len(x) long) as scratch, and sc for the convolutions'.
func (r *resBlock) apply(sc *kernels.ConvScratch, x, a, b []float32, t, h, w int, eps float32) {
	ch, n := r.c1.Cin, t*h*w
	a, b = a[:len(x)], b[:len(x)]
	copy(a, x)
	kernels.ChanRMSNormSiLU(a, ch, n, r.n1, eps)
	kernels.Conv3DWith(sc, b, a, t, h, w, r.c1)
	kernels.ChanRMSNormSiLU(b, ch, n, r.n2, eps)
	kernels.Conv3DResidualWith(sc, x, a, b, t, h, w, r.c2)
}

// apply convolves x into scratch, then pixel-shuffles back into x's
// buffer (whose capacity must hold the result), returning the new tensor
// and grid.
func (u *upBlock) apply(sc *kernels.ConvScratch, x, scratch []float32, t, h, w int) ([]float32, int, int, int) {
	n := t * h * w
	y := scratch[:u.conv.Cout*n]
	kernels.Conv3DWith(sc, y, x, t, h, w, u.conv)
	out := x[:len(y)]
	kernels.PixelShuffle3D(out, y, u.cout, t, h, w, u.ft, u.fh, u.fw)
	return out, t * u.ft, h * u.fh, w * u.fw
}
