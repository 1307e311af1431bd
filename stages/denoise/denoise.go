// Package denoise is the DiT stage: reel.text.<job> -> one message per latent
// chunk, reel.latent.<job>.<i> (index i of count in the envelope), so that
// any vaedecode replica can decode any chunk.
package denoise

import (
	"context"
	"errors"
	"fmt"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/mem"
	"github.com/reel-video/reel/stages"
)

// Text is one prompt's embedding.
type Text struct {
	Hidden []float32
	Mask   []bool
}

// Params are the sampler settings.
type Params struct {
	Frames   int
	Steps    int
	Guidance float64
	Shift    float64
	Seed     int64
}

// Sampler denoises a latent [C, T, H, W] (normalised), calling progress after
// each step and checking ctx before each.
type Sampler interface {
	Sample(ctx context.Context, cond, uncond Text, p Params, progress func(step, total int)) ([]float32, error)
}

// Config configures the handler.
type Config struct {
	Sampler Sampler
	SeqLen  int // text tokens (96)
	Dim     int // text hidden size (256)
	// Latent geometry: Channels × (FramesPerChunk per chunk) × Height × Width.
	Channels, FramesPerChunk, Height, Width int
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Sampler == nil || c.SeqLen <= 0 || c.Dim <= 0 || c.Channels <= 0 || c.FramesPerChunk <= 0 || c.Height <= 0 || c.Width <= 0 {
		return errors.New("denoise: sampler, text shape and latent geometry are required")
	}
	return nil
}

// Descriptor declares the stage.
func Descriptor() stages.Descriptor {
	spec, _ := protocol.Spec(protocol.StageDenoise)
	return stages.Descriptor{StageSpec: spec, NeedsEngine: true, New: newFromDeps,
		ReplaySettings: append(protocol.GenerationSettings(), protocol.OutputSettings()...),
		Estimate: func(e mem.Estimator, m protocol.Manifest, s protocol.Settings) mem.Estimate {
			return e.Denoise(m, s.Frames, s.Steps)
		}}
}

func newFromDeps(d stages.Deps) (stages.Handler, error) {
	s, err := stages.EngineAs[Sampler](d, protocol.StageDenoise)
	if err != nil {
		return nil, err
	}
	m := d.Manifest
	return New(Config{Sampler: s, SeqLen: m.TextLength, Dim: m.TextDim, Channels: m.LatentChannels,
		FramesPerChunk: m.LatentFramesPerChunk, Height: m.LatentHeight, Width: m.LatentWidth})
}

// Handler is the stage handler.
type Handler struct{ cfg Config }

// New returns the handler.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Handler{cfg: cfg}, nil
}

// Handle samples the latent and publishes it chunk by chunk.
func (h *Handler) Handle(ctx context.Context, d stages.Delivery) error {
	set := d.Envelope().Settings
	count := set.Chunks()
	job := d.Envelope().Job
	if h.published(ctx, d, job, count) {
		d.Log().Info().Msg("all latent chunks already published (redelivery); not sampling again")
		d.Report(ctx, protocol.Event{Kind: protocol.EventDone})
		return nil
	}
	var body protocol.TextBody
	if err := d.Envelope().DecodeBody(&body); err != nil {
		return err
	}
	cond, err := h.text(body.Cond, body.CondMask, "cond")
	if err != nil {
		return err
	}
	uncond, err := h.text(body.Uncond, body.UncondMask, "uncond")
	if err != nil {
		return err
	}
	p := Params{Frames: set.Frames, Steps: set.Steps, Guidance: set.Guidance, Shift: set.Shift, Seed: set.Seed}
	lat, err := h.cfg.Sampler.Sample(ctx, cond, uncond, p, func(step, total int) {
		d.Report(ctx, protocol.Event{Kind: protocol.EventStep, Step: step, Total: total})
	})
	if err != nil {
		return err
	}
	t := count * h.cfg.FramesPerChunk
	if len(lat) != h.cfg.Channels*t*h.cfg.Height*h.cfg.Width {
		return stages.Permanent(fmt.Errorf("sampler returned %d values, want [%d,%d,%d,%d]", len(lat), h.cfg.Channels, t, h.cfg.Height, h.cfg.Width))
	}
	for i := range count {
		chunk := Chunk(lat, h.cfg.Channels, t, h.cfg.FramesPerChunk, h.cfg.Height*h.cfg.Width, i)
		env := &protocol.Envelope{Chunk: i, Count: count}
		if err := env.SetBody(protocol.LatentBody{Latent: protocol.F32Tensor(chunk, h.cfg.Channels, h.cfg.FramesPerChunk, h.cfg.Height, h.cfg.Width)}); err != nil {
			return err
		}
		if err := d.Publish(ctx, protocol.LatentSubject(job, i), env); err != nil {
			return err
		}
	}
	d.Report(ctx, protocol.Event{Kind: protocol.EventDone, Count: count})
	return nil
}

// published reports whether every latent chunk of the job is already on the
// stream (a redelivery after a crash between publish and ack).
func (h *Handler) published(ctx context.Context, d stages.Delivery, job string, count int) bool {
	for i := range count {
		if ok, err := d.Has(ctx, protocol.LatentSubject(job, i)); err != nil || !ok {
			return false
		}
	}
	return true
}

func (h *Handler) text(t protocol.Tensor, mask []bool, what string) (Text, error) {
	v, err := t.Float32s(h.cfg.SeqLen, h.cfg.Dim)
	if err != nil {
		return Text{}, fmt.Errorf("%s embedding: %w", what, err)
	}
	if len(mask) != h.cfg.SeqLen {
		return Text{}, protocol.Malformedf("%s mask has %d entries, want %d", what, len(mask), h.cfg.SeqLen)
	}
	return Text{Hidden: v, Mask: mask}, nil
}

// Chunk copies latent chunk i ([C, f, plane]) out of a latent [C, T, plane].
func Chunk(lat []float32, channels, t, f, plane, i int) []float32 {
	out := make([]float32, channels*f*plane)
	per := f * plane
	for c := range channels {
		src := lat[(c*t+i*f)*plane:]
		copy(out[c*per:(c+1)*per], src[:per])
	}
	return out
}
