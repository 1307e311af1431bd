// Package vaedecode is the VAE stage: one latent chunk reel.latent.<job>.<i>
// -> 16 RGB24 frames reel.frames.<job>.<i>. Chunks are independent, so any
// replica decodes any chunk, and memory is bounded by one chunk.
package vaedecode

import (
	"context"
	"errors"
	"fmt"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/mem"
	"github.com/reel-video/reel/stages"
)

// Decoder decodes one normalised latent chunk into RGB24 frames
// [frames, H, W, 3].
type Decoder interface {
	DecodeChunk(ctx context.Context, chunk []float32) ([]byte, error)
}

// Config configures the handler.
type Config struct {
	Decoder Decoder
	// Latent chunk geometry [Channels, LatentFrames, LatentH, LatentW] and
	// the frames it decodes to [Frames, Height, Width, 3].
	Channels, LatentFrames, LatentH, LatentW int
	Frames, Height, Width                    int
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Decoder == nil || c.Channels <= 0 || c.LatentFrames <= 0 || c.LatentH <= 0 || c.LatentW <= 0 || c.Frames <= 0 || c.Height <= 0 || c.Width <= 0 {
		return errors.New("vaedecode: decoder and geometry are required")
	}
	return nil
}

// Descriptor declares the stage.
func Descriptor() stages.Descriptor {
	spec, _ := protocol.Spec(protocol.StageVAEDecode)
	return stages.Descriptor{StageSpec: spec, New: newFromDeps,
		ReplaySettings: protocol.OutputSettings(),
		// One chunk per message, whatever the video's length.
		Estimate: func(e mem.Estimator, m protocol.Manifest, _ protocol.Settings) mem.Estimate { return e.DecodeChunk(m) }}
}

func newFromDeps(d stages.Deps) (stages.Handler, error) {
	dec, err := stages.EngineAs[Decoder](d, protocol.StageVAEDecode)
	if err != nil {
		return nil, err
	}
	m := d.Manifest
	return New(Config{Decoder: dec, Channels: m.LatentChannels, LatentFrames: m.LatentFramesPerChunk,
		LatentH: m.LatentHeight, LatentW: m.LatentWidth, Frames: m.FramesPerChunk, Height: m.Height, Width: m.Width})
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

// Handle decodes one chunk and publishes its frames.
func (h *Handler) Handle(ctx context.Context, d stages.Delivery) error {
	env := d.Envelope()
	if env.Count != env.Settings.Chunks() || env.Chunk < 0 || env.Chunk >= env.Count {
		return protocol.Malformedf("chunk %d of %d does not fit %d frames", env.Chunk, env.Count, env.Settings.Frames)
	}
	var body protocol.LatentBody
	if err := env.DecodeBody(&body); err != nil {
		return err
	}
	lat, err := body.Latent.Float32s(h.cfg.Channels, h.cfg.LatentFrames, h.cfg.LatentH, h.cfg.LatentW)
	if err != nil {
		return fmt.Errorf("latent chunk: %w", err)
	}
	rgb, err := h.cfg.Decoder.DecodeChunk(ctx, lat)
	if err != nil {
		return err
	}
	if len(rgb) != h.cfg.Frames*h.cfg.Height*h.cfg.Width*3 {
		return stages.Permanent(fmt.Errorf("decoder returned %d bytes, want %d frames of %dx%d RGB", len(rgb), h.cfg.Frames, h.cfg.Width, h.cfg.Height))
	}
	out := &protocol.Envelope{Chunk: env.Chunk, Count: env.Count}
	if err := out.SetBody(protocol.FramesBody{Frames: protocol.U8Tensor(rgb, h.cfg.Frames, h.cfg.Height, h.cfg.Width, 3)}); err != nil {
		return err
	}
	if err := d.Publish(ctx, protocol.FramesSubject(env.Job, env.Chunk), out); err != nil {
		return err
	}
	d.Report(ctx, protocol.Event{Kind: protocol.EventChunk, Chunk: env.Chunk, Count: env.Count})
	return nil
}
