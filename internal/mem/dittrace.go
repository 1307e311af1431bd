package mem

import (
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/model/kernels"
)

// ditSample is what Sample holds for its whole run at T latent frames and
// conds text conditions (2 with classifier-free guidance), on threads
// kernel goroutines: the DiT workspace, RoPE tables, per-block text
// keys/values, the latents, the attention scratch (self-attention is the
// largest: every token against every token), the packed panels of a
// running GEMM and, for an FP8 DiT, the rounded copy of the largest FP8
// product's input (fc2's, the FFN hidden; kernels.FP8InputBytes). The previous job's buffers that the kernel pool keeps
// reachable (the last loops' x, y and output) are released at the new
// job's first loop, while it prepares its text, before this workspace
// exists, so they do not add to it.
func (a Arch) ditSample(m protocol.Manifest, t, conds, threads int) int64 {
	d, pin := int64(a.DiTDim), int64(m.LatentChannels*a.PatchSide*a.PatchSide)
	hd := d / int64(a.DiTHeads)
	n := int64(t) * int64(m.LatentHeight/a.PatchSide) * int64(m.LatentWidth/a.PatchSide) // tokens
	rows := int64(conds) * n
	work := n*pin + rows*d*(4+3+4) + rows*pin // tok; x y a o, qkv, ffn hidden; out
	rope := 2 * n * hd
	text := int64(conds) * int64(a.DiTLayers) * int64(m.TextLength) * 2 * d
	latents := (2 + int64(conds)) * n * pin // noise, x, one v per cond (n·pin = C·T·H·W)
	embeddings := int64(conds) * int64(m.TextLength) * int64(m.TextDim)
	attn := attnScratch(int(n), int(max(n, int64(m.TextLength))), int(hd), threads)
	var rounded int64
	if m.FP8 {
		rounded = int64(kernels.FP8InputBytes()) * rows * 4 * d
	}
	return f32*(work+rope+text+latents+embeddings) + attn + gemmScratch(threads) + rounded
}

// textEncode is the text encoder's buffers for one prompt (x, y, qkv, a, o
// and the MLP hidden, allocated before its first kernel loop), its
// attention scratch, and what the previous encode's last loop (fc2's
// residual GEMM) keeps reachable through the kernel pool until then: its
// o and hidden (its x is the embedding the stage holds anyway). The
// manifest does not give the encoder's heads; the attention scratch is
// bounded by one head as wide as the model (at most 0.2 MiB a thread).
func textEncode(m protocol.Manifest, threads int) int64 {
	n, d := int64(m.TextLength), int64(m.TextDim)
	own := f32 * n * d * (1 + 1 + 3 + 1 + 1 + 4)
	prev := f32 * n * d * (1 + 4)
	return own + prev + attnScratch(int(n), int(n), int(d), threads) + gemmScratch(threads)
}
