package denoise

import (
	"context"
	"errors"
	"fmt"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages"
)

// ErrNotWindowed refuses a job a WholeSampler cannot do.
var ErrNotWindowed = errors.New("denoise: this engine samples whole latents only (no extension or remix)")

// Whole adapts a WholeSampler whose latents have the given channels and
// latent frames per chunk to Sampler: one pass over the whole video, as
// before windows existed (the window settings are ignored), then every
// chunk. A job with a Prefix or an Init fails permanently with
// ErrNotWindowed.
func Whole(w WholeSampler, channels, framesPerChunk int) Sampler {
	return whole{w: w, channels: channels, f: framesPerChunk}
}

type whole struct {
	w           WholeSampler
	channels, f int
}

func (a whole) SampleWindows(ctx context.Context, cond, uncond Text, p Params,
	emit func(chunk int, lat []float32) error, progress func(Progress)) error {
	if p.Prefix != nil || p.Init != nil {
		return stages.Permanent(ErrNotWindowed)
	}
	lat, err := a.w.Sample(ctx, cond, uncond, p, func(step, total int) {
		if progress != nil {
			progress(Progress{Window: 1, Windows: 1, Step: step, Steps: total})
		}
	})
	if err != nil {
		return err
	}
	chunks := p.Frames / protocol.FramesPerChunk
	t := chunks * a.f
	if t == 0 || len(lat)%(a.channels*t) != 0 {
		return stages.Permanent(fmt.Errorf("sampler returned %d values, not [%d, %d, h, w]", len(lat), a.channels, t))
	}
	plane := len(lat) / (a.channels * t)
	for i := range chunks {
		if err := emit(i, Chunk(lat, a.channels, t, a.f, plane, i)); err != nil {
			return err
		}
	}
	return nil
}
