package pipeline

import (
	"context"
	"errors"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/mem"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/denoise"
)

// engine adapts *model.Engine to the stages' consumer-side interfaces.
type engine struct{ e *model.Engine }

// GoEngine serves the model stages with the built-in pure-Go engine.
func GoEngine(e *model.Engine) Engine { return engine{e} }

// Manifest describes the loaded model (geometry as Options chose it,
// weight sizes measured at Load).
func (a engine) Manifest() protocol.Manifest { return a.e.Manifest() }

// MemArch is the engine's layer widths, from the config it runs, for the
// memory estimates (internal/mem).
func (a engine) MemArch() mem.Arch {
	c := a.e.Config()
	ar := mem.Arch{DiTDim: c.DiTDim, DiTLayers: c.DiTLayers, DiTHeads: c.DiTHeads}
	if len(c.Patch) > 0 {
		ar.PatchSide = c.Patch[len(c.Patch)-1]
	}
	copy(ar.VAEChannels[:], c.VAEChannels)
	return ar
}

func wrap(err error) error {
	if errors.Is(err, model.ErrInput) {
		return stages.Permanent(err)
	}
	return err
}

func (a engine) EncodeText(ctx context.Context, prompt string) ([]float32, []bool, error) {
	emb, err := a.e.EncodeText(ctx, prompt)
	if err != nil {
		return nil, nil, wrap(err)
	}
	return emb.Hidden, emb.Mask, nil
}

func (a engine) Sample(ctx context.Context, cond, uncond denoise.Text, p denoise.Params, progress func(step, total int)) ([]float32, error) {
	c := &model.TextEmbedding{Hidden: cond.Hidden, Mask: cond.Mask}
	u := &model.TextEmbedding{Hidden: uncond.Hidden, Mask: uncond.Mask}
	lat, err := a.e.Sample(ctx, c, u, model.SampleParams{Frames: p.Frames, Steps: p.Steps, Guidance: p.Guidance, Shift: p.Shift, Seed: p.Seed}, progress)
	return lat, wrap(err)
}

func (a engine) DecodeChunk(ctx context.Context, chunk []float32) ([]byte, error) {
	vid, err := a.e.DecodeChunk(ctx, chunk)
	if err != nil {
		return nil, wrap(err)
	}
	return model.ToRGB24(vid), nil
}
