package runnerengine

import (
	"context"

	"github.com/reel-video/reel/runner"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/denoise"
)

// Sample denoises a whole latent (denoise.WholeSampler: the denoise stage
// wraps it with denoise.Whole, so it serves plain jobs in one pass) after
// checking the job against the runner's manifest. The noise is the stage's: runner.Engine
// sends model.Noise(p.Seed, ·), so every engine starts from the same one.
// It is the one place that knows denoise's interface, so a change there
// (windowed sampling) is a change here only.
func (a *Engine) Sample(ctx context.Context, cond, uncond denoise.Text, p denoise.Params, progress func(step, total int)) ([]float32, error) {
	if err := CheckJob(a.name, a.r.Manifest(), p); err != nil {
		return nil, stages.Permanent(err)
	}
	rp := runner.Params{Frames: p.Frames, Steps: p.Steps, Guidance: p.Guidance, Shift: p.Shift, Seed: p.Seed}
	lat, err := a.r.Sample(ctx, runner.Text(cond), runner.Text(uncond), rp, progress)
	if err != nil {
		return nil, a.stageError("sample", err)
	}
	return lat, nil
}
