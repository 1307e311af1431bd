package runnerengine

import (
	"fmt"
	"strings"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages/denoise"
)

// CheckJob says why an engine whose manifest is m cannot sample a job with
// settings p (protocol.Manifest.CheckSettings, naming the field and the
// limit), or returns nil. The stage's admission checks the same before a
// message is taken; this catches the handler run any other way, before the
// runner is asked (a runner without guided sampling serves one window).
func CheckJob(engine string, m protocol.Manifest, p denoise.Params) error {
	s := protocol.Settings{Frames: p.Frames, Steps: p.Steps, Guidance: p.Guidance, Shift: p.Shift, Seed: p.Seed}
	if err := m.CheckSettings(s); err != nil {
		return fmt.Errorf("engine %s: %w", engine, err)
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
