package stagetest

import (
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/stages/stagetest/fixture"
)

// The fixtures live in package fixture (NATS-free, for handler unit tests);
// these names keep the conformance suites' spelling.

// Engine returns the real engine (embedded weights), loaded once per test
// binary.
func Engine(t testing.TB) *model.Engine { t.Helper(); return fixture.Engine(t) }

// Settings are small job settings: 16 frames per chunk × chunks, steps
// sampler steps, a fixed seed.
func Settings(chunks, steps int) protocol.Settings { return fixture.Settings(chunks, steps) }

// Prompt is the request every job of the suite uses.
func Prompt() protocol.Request { return fixture.Prompt() }

// Text is the engine's text stage output for req.
func Text(t testing.TB, req protocol.Request) protocol.TextBody {
	t.Helper()
	return fixture.Text(t, req)
}

// Latents are the engine's normalised latent chunks for req and set.
func Latents(t testing.TB, req protocol.Request, set protocol.Settings) [][]float32 {
	t.Helper()
	return fixture.Latents(t, req, set)
}

// Frames are the engine's RGB24 frames of each chunk.
func Frames(t testing.TB, req protocol.Request, set protocol.Settings) [][]byte {
	t.Helper()
	return fixture.Frames(t, req, set)
}

// DecodeChunk is the engine's RGB24 decode of one latent chunk.
func DecodeChunk(t testing.TB, chunk []float32) []byte {
	t.Helper()
	return fixture.DecodeChunk(t, chunk)
}

// Envelope builds an input envelope as the producing stage would publish it.
func Envelope(t testing.TB, job, stage string, set protocol.Settings, chunk, count int, body any) *protocol.Envelope {
	t.Helper()
	return fixture.Envelope(t, job, stage, set, chunk, count, body)
}

// PerSettings memoises an expensive fixture per job settings.
type PerSettings[V any] = fixture.PerSettings[V]
