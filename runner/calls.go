package runner

import (
	"context"
	"errors"
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
	if err := checkFrames(m, p.Frames); err != nil {
		return nil, err
	}
	return e.SampleFrom(ctx, cond, uncond, model.Noise(p.Seed, m.LatentSize(p.Frames)), p, nil, progress)
}

// SampleFrom is Sample from the given noise [C, T, h, w] (T =
// Manifest.LatentFrames(p.Frames)), guided by g when it is not nil: one
// window of model.SampleWindowsWith. A guide needs a runner whose hello
// says capabilities.sample_guide.
func (e *Engine) SampleFrom(ctx context.Context, cond, uncond Text, noise []float32, p Params, g *model.Guide,
	progress func(step, total int)) ([]float32, error) {
	m := e.manifest
	if err := checkFrames(m, p.Frames); err != nil {
		return nil, err
	}
	t := m.LatentFrames(p.Frames)
	shape := []int{m.LatentChannels, t, m.LatentHeight, m.LatentWidth}
	if len(noise) != m.LatentSize(p.Frames) {
		return nil, fmt.Errorf("%w: noise has %d values, want %v", ErrBadInput, len(noise), shape)
	}
	c, err := e.textTensors("prompt", cond)
	if err != nil {
		return nil, err
	}
	req := &sampleRequest{request: request{Op: opSample}, Cond: c,
		Noise:  protocol.F32Tensor(noise, shape...),
		Frames: p.Frames, Steps: p.Steps, Guidance: p.Guidance, Shift: p.Shift, Seed: p.Seed}
	if uncond.Hidden != nil {
		u, err := e.textTensors("negative prompt", uncond)
		if err != nil {
			return nil, err
		}
		req.Uncond = &u
	}
	if g != nil {
		if !e.Hello().Capabilities.SampleGuide {
			return nil, fmt.Errorf("%w: %w", ErrBadInput, ErrNoGuide)
		}
		if req.Guide, err = guideOf(g, shape); err != nil {
			return nil, err
		}
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

// checkFrames refuses a video length the manifest's chunks cannot cut.
func checkFrames(m protocol.Manifest, frames int) error {
	if frames <= 0 || frames%m.FramesPerChunk != 0 {
		return fmt.Errorf("%w: frames %d is not a positive multiple of %d", ErrBadInput, frames, m.FramesPerChunk)
	}
	return nil
}

// ErrNoGuide: the runner's sample takes no guide (capabilities.sample_guide
// is false), so it cannot sample windows after the first, extensions or
// remixes.
var ErrNoGuide = errors.New("the runner's sample takes no guide (capabilities.sample_guide): no windowed long videos, extensions or remixes on it")

// guideOf puts g on the wire for a latent of shape [C, T, h, w].
func guideOf(g *model.Guide, shape []int) (*guideTensors, error) {
	n := shape[0] * shape[1] * shape[2] * shape[3]
	out := &guideTensors{}
	if g.Fixed != nil {
		if len(g.Fixed) != shape[1] || len(g.Known) != n {
			return nil, fmt.Errorf("%w: guide: %d fixed marks and %d known values for a latent %v", ErrBadInput, len(g.Fixed), len(g.Known), shape)
		}
		fixed := make([]byte, len(g.Fixed))
		for i, on := range g.Fixed {
			if on {
				fixed[i] = 1
			}
		}
		k, f := protocol.F32Tensor(g.Known, shape...), protocol.U8Tensor(fixed, shape[1])
		out.Known, out.Fixed = &k, &f
	}
	if g.Init != nil {
		if len(g.Init) != n || !(g.Strength > 0 && g.Strength <= 1) {
			return nil, fmt.Errorf("%w: guide: init of %d values at strength %v for a latent %v", ErrBadInput, len(g.Init), g.Strength, shape)
		}
		i := protocol.F32Tensor(g.Init, shape...)
		out.Init, out.Strength = &i, g.Strength
	}
	return out, nil
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
