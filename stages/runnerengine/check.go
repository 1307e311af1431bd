package runnerengine

import (
	"fmt"
	"strings"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages/denoise"
)

// CheckJob says why an engine whose manifest is m cannot sample a job with
// settings p, naming the engine and the manifest field, or returns nil.
// Intake validates jobs against the fleet's limits; a runner serving less
// (the bundled one samples one trained window, 48 frames) refuses here
// instead of failing somewhere in the runner.
func CheckJob(engine string, m protocol.Manifest, p denoise.Params) error {
	switch {
	case p.Frames > m.MaxFrames:
		return fmt.Errorf("engine %s serves at most %d frames (its manifest's max_frames); the job asks for %d", engine, m.MaxFrames, p.Frames)
	case p.Steps > m.MaxSteps:
		return fmt.Errorf("engine %s serves at most %d steps (max_steps); the job asks for %d", engine, m.MaxSteps, p.Steps)
	case p.Guidance > m.MaxGuidance:
		return fmt.Errorf("engine %s serves guidance up to %v (max_guidance); the job asks for %v", engine, m.MaxGuidance, p.Guidance)
	}
	return nil
}

// GeometryDiff lists the geometry fields in which b differs from a
// ("width 96 vs 64"), empty when the two engines compute tensors of the same
// shapes: the stages of one deployment pass tensors between engines, so
// their geometry must agree.
func GeometryDiff(a, b protocol.Manifest) string {
	var d []string
	for _, f := range []struct {
		name string
		a, b int
	}{
		{"latent_channels", a.LatentChannels, b.LatentChannels}, {"latent_height", a.LatentHeight, b.LatentHeight},
		{"latent_width", a.LatentWidth, b.LatentWidth}, {"latent_frames_per_chunk", a.LatentFramesPerChunk, b.LatentFramesPerChunk},
		{"frames_per_chunk", a.FramesPerChunk, b.FramesPerChunk}, {"width", a.Width, b.Width}, {"height", a.Height, b.Height},
		{"text_length", a.TextLength, b.TextLength}, {"text_dim", a.TextDim, b.TextDim},
	} {
		if f.a != f.b {
			d = append(d, fmt.Sprintf("%s %d vs %d", f.name, f.a, f.b))
		}
	}
	return strings.Join(d, ", ")
}
