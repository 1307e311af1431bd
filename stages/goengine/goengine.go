// Package goengine serves the model stages with the built-in pure-Go engine
// (package model): it adapts *model.Engine to the stages' role interfaces
// (textenc.Encoder, denoise.Sampler, vaedecode.Decoder) and describes the
// loaded model as a protocol.Manifest. It links no NATS, so handler unit
// tests and in-process embeddings use it as stages/pipeline does.
package goengine

import (
	"context"
	"errors"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/mem"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/denoise"
)

// Engine adapts *model.Engine to the stages' consumer-side interfaces.
type Engine struct{ e *model.Engine }

// New serves the model stages with e.
func New(e *model.Engine) Engine { return Engine{e} }

// Manifest describes the loaded model (geometry as Options chose it,
// weight sizes measured at Load).
func (a Engine) Manifest() protocol.Manifest { return a.e.Manifest() }

// MemArch is the engine's layer widths, from the config it runs, for the
// memory estimates (internal/mem).
func (a Engine) MemArch() mem.Arch {
	c := a.e.Config()
	ar := mem.Arch{DiTDim: c.DiTDim, DiTLayers: c.DiTLayers, DiTHeads: c.DiTHeads}
	if len(c.Patch) > 0 {
		ar.PatchSide = c.Patch[len(c.Patch)-1]
	}
	copy(ar.VAEChannels[:], c.VAEChannels)
	return ar
}

// wrap makes the engine's input errors permanent: retrying cannot fix them.
func wrap(err error) error {
	if errors.Is(err, model.ErrInput) {
		return stages.Permanent(err)
	}
	return err
}

// EncodeText encodes one prompt (textenc.Encoder).
func (a Engine) EncodeText(ctx context.Context, prompt string) ([]float32, []bool, error) {
	emb, err := a.e.EncodeText(ctx, prompt)
	if err != nil {
		return nil, nil, wrap(err)
	}
	return emb.Hidden, emb.Mask, nil
}

// SampleWindows denoises a latent window by window (denoise.Sampler):
// model.Engine.SampleWindows, with an extension's prefix as known frames
// and a remix's init latent as the guide's.
func (a Engine) SampleWindows(ctx context.Context, cond, uncond denoise.Text, p denoise.Params,
	emit func(chunk int, lat []float32) error, progress func(denoise.Progress)) error {
	c := &model.TextEmbedding{Hidden: cond.Hidden, Mask: cond.Mask}
	u := &model.TextEmbedding{Hidden: uncond.Hidden, Mask: uncond.Mask}
	sp := model.SampleParams{Frames: p.Frames, Steps: p.Steps, Guidance: p.Guidance, Shift: p.Shift, Seed: p.Seed}
	g, err := model.JobGuide(a.e.Manifest(), p.Frames, p.Prefix, p.Init, p.Strength)
	if err != nil {
		return stages.Permanent(err)
	}
	sp.Guide = g
	var prog func(model.WindowProgress)
	if progress != nil {
		prog = func(w model.WindowProgress) {
			progress(denoise.Progress{Window: w.Window, Windows: w.Windows, Step: w.Step, Steps: w.Steps})
		}
	}
	return wrap(a.e.SampleWindows(ctx, c, u, sp, model.Windowing{Frames: p.WindowFrames, Overlap: p.OverlapFrames}, emit, prog))
}

// DecodeChunk decodes one latent chunk to RGB24 frames (vaedecode.Decoder).
func (a Engine) DecodeChunk(ctx context.Context, chunk []float32) ([]byte, error) {
	vid, err := a.e.DecodeChunk(ctx, chunk)
	if err != nil {
		return nil, wrap(err)
	}
	return model.ToRGB24(vid), nil
}
