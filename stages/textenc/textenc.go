// Package textenc is the text-encoding stage: reel.prompt.<job> (prompt and
// negative prompt) -> reel.text.<job> (cond + uncond embeddings).
package textenc

import (
	"context"
	"errors"
	"fmt"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/mem"
	"github.com/reel-video/reel/stages"
)

// Encoder encodes one prompt (the engine's text encoder).
type Encoder interface {
	EncodeText(ctx context.Context, prompt string) (hidden []float32, mask []bool, err error)
}

// Config configures the handler.
type Config struct {
	Encoder Encoder
	SeqLen  int // tokens per embedding (96 for reel-tiny)
	Dim     int // hidden size (256)
	// FPS is the model's frame rate: a job that names none gets it here,
	// at intake, so every later stage (and a replay) sees it resolved.
	FPS int
	// Model is the served model's name: a job that names none gets it
	// here too, so later stages route it to workers of the same model.
	Model string
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Encoder == nil || c.SeqLen <= 0 || c.Dim <= 0 {
		return errors.New("textenc: encoder and embedding shape are required")
	}
	return nil
}

// Descriptor declares the stage.
func Descriptor() stages.Descriptor {
	spec, _ := protocol.Spec(protocol.StageTextEnc)
	return stages.Descriptor{StageSpec: spec, New: newFromDeps,
		ReplaySettings: append(protocol.GenerationSettings(), protocol.OutputSettings()...),
		Estimate:       func(e mem.Estimator, m protocol.Manifest, _ protocol.Settings) mem.Estimate { return e.Text(m) }}
}

func newFromDeps(d stages.Deps) (stages.Handler, error) {
	enc, err := stages.EngineAs[Encoder](d, protocol.StageTextEnc)
	if err != nil {
		return nil, err
	}
	return New(Config{Encoder: enc, SeqLen: d.Manifest.TextLength, Dim: d.Manifest.TextDim, FPS: d.Manifest.FPS, Model: d.Manifest.Model})
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

// Handle encodes the prompt and the negative prompt and publishes both.
func (h *Handler) Handle(ctx context.Context, d stages.Delivery) error {
	var req protocol.Request
	if err := d.Envelope().DecodeBody(&req); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return stages.Permanent(err)
	}
	cond, err := h.encode(ctx, "prompt", req.Prompt)
	if err != nil {
		return err
	}
	uncond, err := h.encode(ctx, "negative", req.Negative)
	if err != nil {
		return err
	}
	body := protocol.TextBody{
		Cond: protocol.F32Tensor(cond.hidden, h.cfg.SeqLen, h.cfg.Dim), CondMask: cond.mask,
		Uncond: protocol.F32Tensor(uncond.hidden, h.cfg.SeqLen, h.cfg.Dim), UncondMask: uncond.mask,
	}
	env := &protocol.Envelope{Settings: d.Envelope().Settings}
	if env.Settings.FPS == 0 {
		env.Settings.FPS = h.cfg.FPS
	}
	if env.Settings.Model == "" {
		env.Settings.Model = h.cfg.Model
	}
	if err := env.SetBody(body); err != nil {
		return err
	}
	if err := d.Publish(ctx, protocol.TextSubject(d.Envelope().Job), env); err != nil {
		return err
	}
	d.Report(ctx, protocol.Event{Kind: protocol.EventDone})
	return nil
}

type embedding struct {
	hidden []float32
	mask   []bool
}

func (h *Handler) encode(ctx context.Context, what, text string) (embedding, error) {
	hid, mask, err := h.cfg.Encoder.EncodeText(ctx, text)
	if err != nil {
		return embedding{}, fmt.Errorf("encode %s: %w", what, err)
	}
	if len(hid) != h.cfg.SeqLen*h.cfg.Dim || len(mask) != h.cfg.SeqLen {
		return embedding{}, stages.Permanent(fmt.Errorf("encode %s: got %d values and %d mask entries, want %d×%d", what, len(hid), len(mask), h.cfg.SeqLen, h.cfg.Dim))
	}
	return embedding{hid, mask}, nil
}
