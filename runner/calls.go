package runner

import (
	"context"
	"fmt"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/model"
)

// Text is one prompt's embedding: Hidden [MaxLen·Dim] row-major and Mask
// [MaxLen]. Its fields match stages/denoise.Text, so a value converts
// directly: runner.Text(t).
type Text struct {
	Hidden []float32
	Mask   []bool
}

// Params are the sampler settings, field for field stages/denoise.Params.
type Params struct {
	Frames   int
	Steps    int
	Guidance float64
	Shift    float64
	Seed     int64
}

// EncodeText encodes a prompt: hidden [MaxLen·Dim] and mask [MaxLen].
func (e *Engine) EncodeText(ctx context.Context, prompt string) ([]float32, []bool, error) {
	var r encodeTextResult
	if err := e.do(ctx, &encodeTextRequest{request: request{Op: opEncodeText}, Prompt: prompt}, &r, nil); err != nil {
		return nil, nil, err
	}
	m := e.manifest
	hidden, err := r.Hidden.Float32s(m.TextLength, m.TextDim)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: encode_text hidden: %w", ErrProtocol, err)
	}
	mb, err := r.Mask.Bytes(m.TextLength)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: encode_text mask: %w", ErrProtocol, err)
	}
	mask := make([]bool, len(mb))
	for i, b := range mb {
		mask[i] = b != 0
	}
	return hidden, mask, nil
}

// Sample denoises model.Noise(p.Seed, ·) — computed here and sent, so every
// engine starts from the same noise — into a normalised latent [C, T, h, w]
// with T = Manifest.LatentFrames(Frames). A nil
// uncond.Hidden turns guidance off. progress runs on the calling goroutine
// after each step. When ctx ends the runner is told to cancel and Sample
// returns at once.
func (e *Engine) Sample(ctx context.Context, cond, uncond Text, p Params, progress func(step, total int)) ([]float32, error) {
	m := e.manifest
	if p.Frames <= 0 || p.Frames%m.FramesPerChunk != 0 {
		return nil, fmt.Errorf("%w: frames %d is not a positive multiple of %d", ErrBadInput, p.Frames, m.FramesPerChunk)
	}
	shape := []int{m.LatentChannels, m.LatentFrames(p.Frames), m.LatentHeight, m.LatentWidth}
	n := shape[0] * shape[1] * shape[2] * shape[3]
	c, err := e.textTensors("prompt", cond)
	if err != nil {
		return nil, err
	}
	req := &sampleRequest{request: request{Op: opSample}, Cond: c,
		Noise:  protocol.F32Tensor(model.Noise(p.Seed, n), shape...),
		Frames: p.Frames, Steps: p.Steps, Guidance: p.Guidance, Shift: p.Shift, Seed: p.Seed}
	if uncond.Hidden != nil {
		u, err := e.textTensors("negative prompt", uncond)
		if err != nil {
			return nil, err
		}
		req.Uncond = &u
	}
	var r sampleResult
	if err := e.do(ctx, req, &r, progress); err != nil {
		return nil, err
	}
	lat, err := r.Latent.Float32s(shape...)
	if err != nil {
		return nil, fmt.Errorf("%w: sample latent: %w", ErrProtocol, err)
	}
	return lat, nil
}

func (e *Engine) textTensors(what string, t Text) (textTensors, error) {
	m := e.manifest
	if len(t.Mask) != m.TextLength || len(t.Hidden) != m.TextLength*m.TextDim {
		return textTensors{}, fmt.Errorf("%w: %s embedding has %d values and %d mask entries, want [%d, %d]",
			ErrBadInput, what, len(t.Hidden), len(t.Mask), m.TextLength, m.TextDim)
	}
	mask := make([]byte, len(t.Mask))
	for i, b := range t.Mask {
		if b {
			mask[i] = 1
		}
	}
	return textTensors{Hidden: protocol.F32Tensor(t.Hidden, m.TextLength, m.TextDim), Mask: protocol.U8Tensor(mask, m.TextLength)}, nil
}

// DecodeChunk decodes one normalised latent chunk into RGB24 frames
// [FramesPerChunk, Height, Width, 3], pixel = round((clamp(x,−1,1)+1)·127.5)
// as model.ToRGB24.
func (e *Engine) DecodeChunk(ctx context.Context, chunk []float32) ([]byte, error) {
	m := e.manifest
	if len(chunk) != m.ChunkLatentSize() {
		return nil, fmt.Errorf("%w: latent chunk has %d values, want %d", ErrBadInput, len(chunk), m.ChunkLatentSize())
	}
	req := &decodeChunkRequest{request: request{Op: opDecodeChunk},
		Latent: protocol.F32Tensor(chunk, m.LatentChannels, m.LatentFramesPerChunk, m.LatentHeight, m.LatentWidth)}
	var r decodeChunkResult
	if err := e.do(ctx, req, &r, nil); err != nil {
		return nil, err
	}
	px, err := r.Frames.Bytes(m.FramesPerChunk, m.Height, m.Width, 3)
	if err != nil {
		return nil, fmt.Errorf("%w: decode_chunk frames: %w", ErrProtocol, err)
	}
	return px, nil
}

// Health asks the runner for its memory use (RSS, GPU memory).
func (e *Engine) Health(ctx context.Context) (Memory, error) {
	var r healthResult
	if err := e.do(ctx, &healthRequest{request{Op: opHealth}}, &r, nil); err != nil {
		return Memory{}, err
	}
	return r.Memory, nil
}
