// Package denoise is the DiT stage: reel.text.<job> -> one message per latent
// chunk, reel.latent.<job>.<i> (index i of count in the envelope), so that
// any vaedecode replica can decode any chunk. It samples window by window
// and publishes each chunk as soon as the window that finishes it is done,
// so decoding and encoding start after the first window.
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
	// WindowFrames and OverlapFrames cut a long video into windows (video
	// frames, resolved against the model's defaults: never 0 for a window).
	WindowFrames, OverlapFrames int
	// Prefix (an extension), when set, is the video's first latent frames
	// [C, K, H, W], K a multiple of the chunk's latent frames: kept
	// exactly, and the other frames continue from them.
	Prefix []float32
	// Init and Strength (a remix), when Init is set: sampling starts at
	// sigma Strength in (0, 1] from the latent Init [C, T, H, W] instead of
	// from noise (1 is a fresh generation).
	Init     []float32
	Strength float64
}

// Progress is one finished step: step Step of Steps of window Window of
// Windows (all counted from 1).
type Progress struct {
	Window, Windows int
	Step, Steps     int
}

// Sampler is the engine role of this stage. SampleWindows denoises the
// normalised latent [C, T, H, W] of p as overlapping windows (see
// model.Engine.SampleWindows for the procedure the Go engine runs) and
// calls emit with each latent chunk [C, f, H, W] as soon as it is final:
// in chunk order, every chunk of the video exactly once (the prefix's
// included); an error from emit stops sampling and is returned. progress
// is called after every step; ctx is checked before every step.
type Sampler interface {
	SampleWindows(ctx context.Context, cond, uncond Text, p Params,
		emit func(chunk int, lat []float32) error, progress func(Progress)) error
}

// Config configures the handler.
type Config struct {
	Sampler Sampler
	SeqLen  int // text tokens (96)
	Dim     int // text hidden size (256)
	// Latent geometry: Channels × (FramesPerChunk per chunk) × Height × Width.
	Channels, FramesPerChunk, Height, Width int
	// Window and Overlap are the model's default windowing in video frames
	// (the manifest's window_frames, overlap_frames).
	Window, Overlap int
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Sampler == nil || c.SeqLen <= 0 || c.Dim <= 0 || c.Channels <= 0 || c.FramesPerChunk <= 0 || c.Height <= 0 || c.Width <= 0 {
		return errors.New("denoise: sampler, text shape and latent geometry are required")
	}
	if c.Window <= 0 || c.Overlap < 0 {
		return errors.New("denoise: the model's default window is required")
	}
	return nil
}

// Descriptor declares the stage.
func Descriptor() stages.Descriptor {
	spec, _ := protocol.Spec(protocol.StageDenoise)
	return stages.Descriptor{StageSpec: spec, New: newFromDeps,
		ReplaySettings: append(protocol.GenerationSettings(), protocol.OutputSettings()...),
		Estimate: func(e mem.Estimator, m protocol.Manifest, s protocol.Settings) mem.Estimate {
			return e.Denoise(m, s.Frames, s.Steps, s.WindowFrames)
		}}
}

func newFromDeps(d stages.Deps) (stages.Handler, error) {
	m := d.Manifest
	s, err := stages.EngineAs[Sampler](d, protocol.StageDenoise)
	if err != nil {
		return nil, err
	}
	return New(Config{Sampler: s, SeqLen: m.TextLength, Dim: m.TextDim, Channels: m.LatentChannels,
		FramesPerChunk: m.LatentFramesPerChunk, Height: m.LatentHeight, Width: m.LatentWidth,
		Window: m.WindowFrames, Overlap: m.OverlapFrames})
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

// Handle samples the job's latent and publishes it chunk by chunk as the
// sampler finishes each. An extension publishes only its new chunks
// (Source.Chunks onwards); the parent's are its frames already.
//
// A redelivered message samples again: publishing is write-once, so the
// chunks the first run published stay and only the missing ones are added;
// when all are there it samples nothing.
func (h *Handler) Handle(ctx context.Context, d stages.Delivery) error {
	set := d.Envelope().Settings
	count := set.Chunks()
	job := d.Envelope().Job
	first := 0
	if src := set.Source; src != nil && src.Kind == protocol.SourceExtend {
		first = src.Chunks
	}
	if h.published(ctx, d, job, first, count) {
		d.Log().Info().Msg("all latent chunks already published (redelivery); not sampling again")
		d.Report(ctx, protocol.Event{Kind: protocol.EventDone, Count: count})
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
	win, overlap, err := set.Windowing(h.cfg.Window, h.cfg.Overlap)
	if err != nil {
		return stages.Permanent(err)
	}
	p := Params{Frames: set.Frames, Steps: set.Steps, Guidance: set.Guidance, Shift: set.Shift, Seed: set.Seed,
		WindowFrames: win, OverlapFrames: overlap}
	// offset maps the sampled video's chunks to the job's: an extension
	// samples its known chunks and then its new ones.
	offset, skip := 0, 0
	if src := set.Source; src != nil {
		if offset, skip, err = h.source(ctx, d, src, &p, count); err != nil {
			return err
		}
	}
	emit := func(c int, lat []float32) error {
		if c < skip {
			return nil
		}
		i := c + offset
		if len(lat) != h.chunkSize() || i >= count {
			return stages.Permanent(fmt.Errorf("sampler emitted chunk %d of %d values, want one of %d chunks [%d,%d,%d,%d]",
				i, len(lat), count, h.cfg.Channels, h.cfg.FramesPerChunk, h.cfg.Height, h.cfg.Width))
		}
		env := &protocol.Envelope{Chunk: i, Count: count}
		if err := env.SetBody(protocol.LatentBody{Latent: protocol.F32Tensor(lat, h.cfg.Channels, h.cfg.FramesPerChunk, h.cfg.Height, h.cfg.Width)}); err != nil {
			return err
		}
		return d.Publish(ctx, protocol.LatentSubject(job, i), env)
	}
	err = h.cfg.Sampler.SampleWindows(ctx, cond, uncond, p, emit, func(pr Progress) {
		ev := protocol.Event{Kind: protocol.EventStep, Step: pr.Step, Total: pr.Steps}
		if pr.Windows > 1 {
			ev.Window, ev.Windows = pr.Window, pr.Windows
		}
		d.Report(ctx, ev)
	})
	if err != nil {
		return err
	}
	d.Report(ctx, protocol.Event{Kind: protocol.EventDone, Count: count})
	return nil
}

func (h *Handler) chunkSize() int {
	return h.cfg.Channels * h.cfg.FramesPerChunk * h.cfg.Height * h.cfg.Width
}

// published reports whether latent chunks [first, count) of the job are all
// on the stream already (a redelivery after a crash between publish and
// ack).
func (h *Handler) published(ctx context.Context, d stages.Delivery, job string, first, count int) bool {
	for i := first; i < count; i++ {
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

// Join concatenates latent chunks [C, f, plane] along time into a latent
// [C, len(chunks)·f, plane] (Chunk's inverse).
func Join(chunks [][]float32, channels, f, plane int) []float32 {
	t := len(chunks) * f
	out := make([]float32, channels*t*plane)
	per := f * plane
	for i, ch := range chunks {
		for c := range channels {
			copy(out[(c*t+i*f)*plane:], ch[c*per:(c+1)*per])
		}
	}
	return out
}
