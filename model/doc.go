// Package model is the pure-Go reel-tiny text-to-video engine: config,
// byte-level tokenizer, text encoder, DiT (AdaLN-single, QK-RMSNorm, 3-D
// RoPE, cross-attention), flow-matching sampler with classifier-free
// guidance, and the chunked VAE decoder, matching the PyTorch reference
// (../shared/refmodel/reel_tiny.py) in float32.
//
// Typical use (see DESIGN.md):
//
//	e, _ := model.Load(model.Options{})       // built-in weights: FP8 DiT, BF16 text + VAE
//	cond, _ := e.EncodeText(ctx, prompt)
//	uncond, _ := e.EncodeText(ctx, "")        // the default negative prompt
//	lat, _ := e.Sample(ctx, cond, uncond, model.DefaultSampleParams(), nil)
//	T := e.Config().LatentFrames(48)
//	for i := 0; i < T/4; i++ {                // any order, any worker
//		vid, _ := e.DecodeChunk(ctx, model.LatentChunk(lat, T, i))
//		frames := model.ToRGB24(vid)          // 16 frames of 64×64 RGB
//	}
//
// Beyond plain sampling: Options.Width/Height run the same weights at
// another frame size (multiples of 16 px); SampleParams.Guide samples with
// known latent frames (extension) or from a given latent at a strength
// (remix); SampleWindows samples long videos as overlapping windows of the
// trained length, emitting chunks per window; Manifest describes the model
// served (protocol.Manifest: geometry, limits, defaults, weights digest and
// resident sizes).
//
// Numerics follow the reference's float32 roundings where they are
// observable (sigma schedule, CFG update, modulation order, RoPE and
// timestep tables); the remaining differences are float32 summation order,
// well inside the test vectors' tolerances. Compute-saving choices are
// exact: the text's cross-attention keys and values are computed once per
// Sample call, prompt and negative run as one batch (one GEMM per layer),
// block 0's self-attention is shared by both (their tokens are identical
// until the first cross-attention), and a call's buffers are reused across
// steps.
package model
