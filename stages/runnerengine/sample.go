package runnerengine

import (
	"context"
	"errors"

	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/runner"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/denoise"
)

// SampleWindows denoises a job's latent (denoise.Sampler) after checking
// it against the runner's manifest: model.SampleWindowsWith cuts the video
// into windows, anchors them and stitches the chunks exactly as the Go
// engine does, and the runner samples each window from its slice of the
// noise (model.Noise(p.Seed, ·), computed here, so every engine starts from
// the same one) with the window's guide. A job of one window with neither
// an extension's prefix nor a remix's init needs no guide, so a runner
// without capabilities.sample_guide still serves it; anything else fails
// permanently on such a runner with runner.ErrNoGuide.
func (a *Engine) SampleWindows(ctx context.Context, cond, uncond denoise.Text, p denoise.Params,
	emit func(chunk int, lat []float32) error, progress func(denoise.Progress)) error {
	m := a.r.Manifest()
	if err := CheckJob(a.name, m, p); err != nil {
		return stages.Permanent(err)
	}
	win, err := model.ResolveWindowing(model.Windowing{Frames: p.WindowFrames, Overlap: p.OverlapFrames}, m)
	if err != nil {
		return stages.Permanent(err)
	}
	g, err := model.JobGuide(m, p.Frames, p.Prefix, p.Init, p.Strength)
	if err != nil {
		return stages.Permanent(err)
	}
	sp := model.SampleParams{Frames: p.Frames, Steps: p.Steps, Guidance: p.Guidance, Shift: p.Shift, Seed: p.Seed, Guide: g}
	run := func(ctx context.Context, x, eps []float32, gd *model.Guide, stepped func(step, total int)) error {
		rp := runner.Params{Frames: len(x) / m.ChunkLatentSize() * m.FramesPerChunk, Steps: p.Steps,
			Guidance: p.Guidance, Shift: p.Shift, Seed: p.Seed}
		lat, err := a.r.SampleFrom(ctx, runner.Text(cond), runner.Text(uncond), eps, rp, needed(gd), stepped)
		if err != nil {
			if errors.Is(err, runner.ErrNoGuide) {
				return stages.Permanent(err)
			}
			return a.stageError("sample", err)
		}
		copy(x, lat)
		return nil
	}
	var prog func(model.WindowProgress)
	if progress != nil {
		prog = func(w model.WindowProgress) {
			progress(denoise.Progress{Window: w.Window, Windows: w.Windows, Step: w.Step, Steps: w.Steps})
		}
	}
	return model.SampleWindowsWith(ctx, m, sp, win, run, emit, prog)
}

// needed is g, or nil when it guides nothing (no known frame, no init):
// a plain window, which any runner samples.
func needed(g *model.Guide) *model.Guide {
	if g == nil || g.Init != nil {
		return g
	}
	for _, on := range g.Fixed {
		if on {
			return g
		}
	}
	return nil
}
