package runnerengine

import (
	"context"

	"github.com/reel-video/reel/runner"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/denoise"
)

// Sample denoises a latent (denoise.Sampler) after checking the job
// against the runner's manifest. The noise is the stage's: runner.Engine
// sends model.Noise(p.Seed, ·), so every engine starts from the same one.
// It is the one place that knows denoise's interface, so a change there
// (windowed sampling) is a change here only.
func (a *Engine) Sample(ctx context.Context, cond, uncond denoise.Text, p denoise.Params, progress func(step, total int)) ([]float32, error) {
	if err := CheckJob(a.name, a.r.Manifest(), p); err != nil {
		return nil, stages.Permanent(err)
	}
	lat, err := a.r.Sample(ctx, runner.Text(cond), runner.Text(uncond), runner.Params(p), progress)
	if err != nil {
		return nil, a.stageError("sample", err)
	}
	return lat, nil
}
