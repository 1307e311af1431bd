package stagetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/model"
)

// The engine is read-only after loading and costs a second to load, so one
// test binary shares one (the only package-level state here).
var loadEngine = sync.OnceValues(func() (*model.Engine, error) { return model.Load(model.Options{}) })

// Engine returns the real engine (embedded weights), loaded once per test
// binary.
func Engine(t testing.TB) *model.Engine {
	t.Helper()
	e, err := loadEngine()
	if err != nil {
		t.Fatalf("load engine: %v", err)
	}
	return e
}

// Settings are small job settings: 16 frames per chunk × chunks, steps
// sampler steps, a fixed seed.
func Settings(chunks, steps int) protocol.Settings {
	s := protocol.DefaultSettings()
	s.Frames, s.Steps, s.Seed = chunks*protocol.FramesPerChunk, steps, 7
	return s
}

// Prompt is the request every job of the suite uses: determinism is
// checked by two jobs with the same prompt and settings.
func Prompt() protocol.Request {
	return protocol.Request{Prompt: "a red ball bouncing", Negative: "blurry"}
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Text is the engine's text stage output for req: what reel.text.<job>
// carries.
func Text(t testing.TB, req protocol.Request) protocol.TextBody {
	t.Helper()
	e := Engine(t)
	c := e.Config()
	cond, err := e.EncodeText(ctxFor(t), req.Prompt)
	if err != nil {
		t.Fatal(err)
	}
	uncond, err := e.EncodeText(ctxFor(t), req.Negative)
	if err != nil {
		t.Fatal(err)
	}
	return protocol.TextBody{
		Cond: protocol.F32Tensor(cond.Hidden, c.TextMaxLen, c.TextDim), CondMask: cond.Mask,
		Uncond: protocol.F32Tensor(uncond.Hidden, c.TextMaxLen, c.TextDim), UncondMask: uncond.Mask,
	}
}

// Latents are the engine's normalised latent chunks [8, 4, 8, 8] for req
// and set, sampled directly (no stage involved).
func Latents(t testing.TB, req protocol.Request, set protocol.Settings) [][]float32 {
	t.Helper()
	e := Engine(t)
	cond, err := e.EncodeText(ctxFor(t), req.Prompt)
	if err != nil {
		t.Fatal(err)
	}
	uncond, err := e.EncodeText(ctxFor(t), req.Negative)
	if err != nil {
		t.Fatal(err)
	}
	lat, err := e.Sample(ctxFor(t), cond, uncond, model.SampleParams{Frames: set.Frames, Steps: set.Steps,
		Guidance: set.Guidance, Shift: set.Shift, Seed: set.Seed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tt := e.Config().LatentFrames(set.Frames)
	out := make([][]float32, set.Chunks())
	for i := range out {
		out[i] = model.LatentChunk(lat, tt, i)
	}
	return out
}

// Frames are the engine's RGB24 frames [16, 64, 64, 3] of each chunk,
// decoded directly from Latents.
func Frames(t testing.TB, req protocol.Request, set protocol.Settings) [][]byte {
	t.Helper()
	out := make([][]byte, 0, set.Chunks())
	for _, chunk := range Latents(t, req, set) {
		out = append(out, DecodeChunk(t, chunk))
	}
	return out
}

// DecodeChunk is the engine's RGB24 decode of one latent chunk.
func DecodeChunk(t testing.TB, chunk []float32) []byte {
	t.Helper()
	vid, err := Engine(t).DecodeChunk(ctxFor(t), chunk)
	if err != nil {
		t.Fatal(err)
	}
	return model.ToRGB24(vid)
}

// Envelope builds an input envelope as the producing stage would publish it.
func Envelope(t testing.TB, job, stage string, set protocol.Settings, chunk, count int, body any) *protocol.Envelope {
	t.Helper()
	env := &protocol.Envelope{V: protocol.SchemaVersion, Job: job, Stage: stage, Attempt: 1, Settings: set, Chunk: chunk, Count: count}
	if err := env.SetBody(body); err != nil {
		t.Fatal(err)
	}
	return env
}

// PerSettings memoises an expensive fixture (a sampled latent, decoded
// frames) per job settings, because the suite asks for the inputs of many
// jobs with the same settings. The zero value is ready to use.
type PerSettings[V any] struct {
	mu sync.Mutex
	m  map[protocol.Settings]V
}

// Get returns the fixture for set, computing it with compute the first time.
func (p *PerSettings[V]) Get(set protocol.Settings, compute func() V) V {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.m[set]
	if !ok {
		if p.m == nil {
			p.m = map[protocol.Settings]V{}
		}
		v = compute()
		p.m[set] = v
	}
	return v
}
