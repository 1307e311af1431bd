package mem

import (
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/model/kernels"
)

// vaeCall is the memory of one model VAE decode call (vae.go decode) on a
// latent of t frames of m's latent grid.
type vaeCall struct {
	lat     int64 // the normalised latent (the caller's) and its de-normalised copy, each
	scratch int64 // the activation buffers: two of the largest activation and one of the largest residual one
	out     int64 // the float32 video [3, F, H, W]
	rgb     int64 // its RGB24 frames (the stage's conversion)
	// positions after conv_in and each upsampling, for the norms' scratch
	pos [4]int64
	// the convolutions in call order (conv_in, then per stage two of the
	// residual block and the upsampling's, then conv_out), for the
	// scratch of those that run through Winograd
	convs [11]convLayer
}

// convLayer is one 3×3 (×KT) convolution of the decoder over a t×h×w grid.
type convLayer struct{ cout, cin, kt, t, h, w int }

// scratch is what kernels allocates for the call besides a plain GEMM's
// panels: zero for an im2col convolution.
func (l convLayer) scratch(threads int) int64 {
	return kernels.ConvScratchBytes(l.cout, l.cin, l.kt, 3, 3, l.t, l.h, l.w, threads)
}

// vaeGeometry sizes a decode call from the decoder's stage widths (conv_in
// into VAEChannels[0]; three upsamplings, the first two doubling time and
// space, ×8 positions, the last only space, ×4; conv_out to RGB) as vae.go
// sizes its scratch: activations ping-pong between two buffers of the
// largest one, and a residual block's second scratch needs the largest
// activation a residual block sees (every stage but the last upsampling's).
func (a Arch) vaeGeometry(m protocol.Manifest, t int) vaeCall {
	p := int64(t * m.LatentHeight * m.LatentWidth)
	factors := [3]int64{8, 8, 4}
	c := vaeCall{lat: f32 * int64(m.LatentChannels) * p}
	size := int64(a.VAEChannels[0]) * p
	res := size
	c.pos[0] = p
	for i, f := range factors {
		p *= f
		c.pos[i+1] = p
		act := int64(a.VAEChannels[i+1]) * p
		size = max(size, act)
		if i < len(factors)-1 {
			res = max(res, act)
		}
	}
	c.scratch = f32 * (2*size + res)
	// The layers as vae.go builds them: residual blocks of 3×3×3
	// convolutions in the first two stages and 1×3×3 in the last, each
	// upsampling a 1×3×3 convolution to cout·(ft·fh·fw) channels before
	// its pixel shuffle (×2 in time and space, then ×2 in space).
	ch := a.VAEChannels
	gt, gh, gw := t, m.LatentHeight, m.LatentWidth
	c.convs[0] = convLayer{ch[0], m.LatentChannels, 3, gt, gh, gw}
	up := [3][3]int{{2, 2, 2}, {2, 2, 2}, {1, 2, 2}}
	for i := range 3 {
		kt := 3
		if i == 2 {
			kt = 1
		}
		res := convLayer{ch[i], ch[i], kt, gt, gh, gw}
		f := up[i]
		c.convs[1+3*i], c.convs[2+3*i] = res, res
		c.convs[3+3*i] = convLayer{ch[i+1] * f[0] * f[1] * f[2], ch[i], 1, gt, gh, gw}
		gt, gh, gw = gt*f[0], gh*f[1], gw*f[2]
	}
	c.convs[10] = convLayer{3, ch[3], 1, gt, gh, gw}
	c.out = f32 * 3 * p
	c.rgb = 3 * p
	return c
}

// retained is what a decode call leaves reachable after it returns: a
// worker of the kernel pool keeps the last parallel loop it joined (conv_out,
// which wrote the video) until it joins the next one, so the video stays in
// the heap, reachable, until the next call's first convolution.
func (c vaeCall) retained() int64 { return c.out }

// decoderKept is what the decoder keeps from call to call (model's
// decodeScratch): the activation buffers and the Winograd scratch, each
// grown to exactly the need of the largest call so far, never freed. A
// call over more than a chunk has its own (oneOff), garbage at its end.
type decoderKept struct {
	act, wino int64
	oneOff    bool
}

// grow replays a kept buffer growing to need: a new buffer of exactly
// that, the old one garbage.
func grow(tr *tracer, kept *int64, need int64) {
	if need > *kept {
		tr.alloc(need)
		tr.free(*kept)
		*kept = need
	}
}

// replay runs the call on tr: what it allocates, the kernels' scratch and
// garbage, and the RGB24 conversion the stage does, with prev bytes of the
// previous call still reachable until conv_in (see retained), and the
// decoder's kept buffers in kept. Buffers the call leaves reachable stay
// allocated in tr; the caller frees them.
func (c vaeCall) replay(tr *tracer, threads int, prev int64, kept *decoderKept) {
	next := 0 // the convolution conv replays
	conv := func() {
		// A Winograd convolution's panels are in its scratch; an im2col
		// one's are a plain GEMM's.
		if s := c.convs[next].scratch(threads); s > 0 {
			grow(tr, &kept.wino, s)
		} else {
			tr.churn(gemmScratch(threads), gemmGarbage(threads))
		}
		next++
		tr.layer()
	}
	norm := func(n int64) { tr.churn(chanNormScratch(n)); tr.layer() }
	tr.alloc(c.lat) // the caller's normalised latent
	tr.alloc(c.lat) // de-normalised copy
	grow(tr, &kept.act, c.scratch)
	conv() // conv_in, the first kernel loop: the pool lets go of the previous call
	tr.free(prev)
	tr.free(c.lat) // the de-normalised latent is read only by conv_in
	for _, n := range c.pos[:3] {
		// A residual block (norm, conv, norm, conv + residual), then an
		// upsampling (conv, then a pixel shuffle into the other buffer):
		// all in the scratch buffer.
		norm(n)
		conv()
		norm(n)
		conv()
		conv()
	}
	norm(c.pos[3]) // norm_out
	tr.alloc(c.out)
	conv() // conv_out
	tr.alloc(c.rgb)
	tr.free(c.lat + c.rgb) // the latent and the frames are the stage's, handed on
	if kept.oneOff {
		tr.free(kept.act + kept.wino)
		kept.act, kept.wino = 0, 0
	}
	tr.layer()
}
