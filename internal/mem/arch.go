package mem

import "github.com/reel-video/reel/bus/protocol"

// Arch is what the estimates need to know about a model beyond its
// manifest: the layer widths its activations scale with. Geometry (latent
// grid, chunking, frame size), the text shape and the weights' sizes come
// from the protocol.Manifest the engine declares after Load; the engine's
// adapter (stages/pipeline) fills Arch from the same config the engine
// runs, so nothing here restates a model's numbers.
type Arch struct {
	// DiTDim, DiTLayers and DiTHeads are the transformer's width, depth
	// and attention heads.
	DiTDim, DiTLayers, DiTHeads int
	// PatchSide is the DiT's spatial patch: a latent frame is
	// LatentHeight/PatchSide × LatentWidth/PatchSide tokens of
	// LatentChannels·PatchSide² values.
	PatchSide int
	// VAEChannels are the decoder's stage widths, widest first (the
	// decoder graph, conv_in, three upsampling stages and conv_out, is
	// reel-tiny's; see vaeDecode).
	VAEChannels [4]int
}

// Valid reports whether a carries the widths the estimates need.
func (a Arch) Valid() bool {
	return a.DiTDim > 0 && a.DiTLayers > 0 && a.DiTHeads > 0 && a.PatchSide > 0 && a.VAEChannels[3] > 0
}

const f32 = 4 // bytes per float32

// weightBytes is the heap the engine keeps after Load: what it counted.
func weightBytes(m protocol.Manifest) int64 { return m.Resident.Text + m.Resident.DiT + m.Resident.VAE }

// filePages is the weight files whose pages stay resident after Load: the
// built-in (embedded) checkpoints. An FP8 DiT is the embedded one; a
// float32 DiT comes from a file on disk that Load reads into the heap
// instead (see Estimator.Denoise).
func filePages(m protocol.Manifest) int64 {
	n := m.Files.Text + m.Files.VAE
	if m.FP8 {
		n += m.Files.DiT
	}
	return n
}

// latentFrames is T, the latent frames of a video of frames frames.
func latentFrames(m protocol.Manifest, frames int) int {
	return frames / m.FramesPerChunk * m.LatentFramesPerChunk
}
