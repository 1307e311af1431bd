// Package runnerengine serves the model stages with an engine runner, a
// child process speaking the protocol of docs/runner.md (package runner):
// it adapts *runner.Engine to the stages' role interfaces
// (textenc.Encoder, denoise.Sampler, vaedecode.Decoder), maps the runner's
// typed errors onto the stage runner's outcomes, and refuses a job the
// runner's manifest says it cannot serve. Like stages/goengine it links no
// NATS.
package runnerengine

import (
	"context"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/runner"
)

// Engine adapts a started runner to the stages' consumer-side interfaces.
type Engine struct {
	r    *runner.Engine
	name string
}

// New serves the model stages with r; name ("torch", "exec:…") is how
// errors and heartbeats refer to it.
func New(r *runner.Engine, name string) *Engine { return &Engine{r: r, name: name} }

// Manifest is the model manifest of the runner's hello.
func (a *Engine) Manifest() protocol.Manifest { return a.r.Manifest() }

// Name is the engine's name as given to New.
func (a *Engine) Name() string { return a.name }

// Runner is the supervised runner behind the adapter.
func (a *Engine) Runner() *runner.Engine { return a.r }

// EncodeText encodes one prompt (textenc.Encoder).
func (a *Engine) EncodeText(ctx context.Context, prompt string) ([]float32, []bool, error) {
	hidden, mask, err := a.r.EncodeText(ctx, prompt)
	if err != nil {
		return nil, nil, a.stageError("encode_text", err)
	}
	return hidden, mask, nil
}

// DecodeChunk decodes one latent chunk to RGB24 frames (vaedecode.Decoder).
func (a *Engine) DecodeChunk(ctx context.Context, chunk []float32) ([]byte, error) {
	px, err := a.r.DecodeChunk(ctx, chunk)
	if err != nil {
		return nil, a.stageError("decode_chunk", err)
	}
	return px, nil
}
