package mem

import "github.com/reel-video/reel/bus/protocol"

// tracer replays a computation's allocations to find its peak heap. The Go
// GC frees nothing the moment it becomes garbage: buffers dropped by the
// previous layer are usually still in the heap while the next layer
// allocates. tracer models exactly that much: garbage from the current and
// the previous layer counts, older garbage is assumed collected.
type tracer struct {
	live, young, old int64
	peak, livePeak   int64
}

func (t *tracer) alloc(n int64) {
	t.live += n
	t.peak = max(t.peak, t.live+t.young+t.old)
	t.livePeak = max(t.livePeak, t.live)
}

func (t *tracer) free(n int64) { t.live -= n; t.young += n }

// layer marks a layer boundary: the garbage of the layer before the one
// that just ended is collected.
func (t *tracer) layer() { t.old, t.young = t.young, 0 }

// vaeDecode replays model's VAE decoder (vae.go decode) on a latent of t
// frames of m's latent grid: conv_in, Res, Up (conv then pixel shuffle
// into a new buffer), ..., conv_out, and the RGB24 conversion the stage
// does. Sizes in bytes.
func (a Arch) vaeDecode(tr *tracer, m protocol.Manifest, t int) {
	c0, c1, c2, c3 := a.VAEChannels[0], a.VAEChannels[1], a.VAEChannels[2], a.VAEChannels[3]
	p := int64(t * m.LatentHeight * m.LatentWidth) // positions at the latent grid
	lat := f32 * int64(m.LatentChannels) * p
	tr.alloc(lat) // de-normalised copy of the latent
	x := f32 * int64(c0) * p
	tr.alloc(x)
	tr.free(lat)
	tr.layer()
	res := func(ch int64) {
		tr.alloc(f32 * ch * p) // a
		tr.alloc(f32 * ch * p) // b
		tr.free(2 * f32 * ch * p)
		tr.layer()
	}
	up := func(cout, factor int64) {
		y := f32 * cout * factor * p
		tr.alloc(y) // conv output
		tr.alloc(y) // shuffled copy
		tr.free(y)
		tr.free(x)
		x = y
		p *= factor
		tr.layer()
	}
	// Two upsamplings double time and space (×8 positions), the last only
	// space (×4): the temporal factor is FramesPerChunk/LatentFramesPerChunk.
	res(int64(c0))
	up(int64(c1), 8)
	res(int64(c1))
	up(int64(c2), 8)
	res(int64(c2))
	up(int64(c3), 4)
	out := f32 * 3 * p
	tr.alloc(out)
	tr.free(x)
	tr.layer()
	tr.alloc(3 * p) // ToRGB24
	tr.free(out)
	tr.free(3 * p)
}

// ditSample is what Sample holds for its whole run at T latent frames and
// conds text conditions (2 with classifier-free guidance): the DiT
// workspace, RoPE tables, per-block text keys/values and the latents.
func (a Arch) ditSample(m protocol.Manifest, t, conds int) int64 {
	d, pin := int64(a.DiTDim), int64(m.LatentChannels*a.PatchSide*a.PatchSide)
	hd := d / int64(a.DiTHeads)
	n := int64(t) * int64(m.LatentHeight/a.PatchSide) * int64(m.LatentWidth/a.PatchSide) // tokens
	rows := int64(conds) * n
	work := n*pin + rows*d*(4+3+4) + rows*pin // tok; x y a o, qkv, ffn hidden; out
	rope := 2 * n * hd
	text := int64(conds) * int64(a.DiTLayers) * int64(m.TextLength) * 2 * d
	latents := (2 + int64(conds)) * n * pin // noise, x, one v per cond (n·pin = C·T·H·W)
	embeddings := int64(conds) * int64(m.TextLength) * int64(m.TextDim)
	return f32 * (work + rope + text + latents + embeddings)
}

// textEncode is the text encoder's buffers for one prompt.
func textEncode(m protocol.Manifest) int64 {
	n, d := int64(m.TextLength), int64(m.TextDim)
	return f32 * n * d * (1 + 1 + 3 + 1 + 1 + 4) // x, y, qkv, a, o, mlp hidden
}
