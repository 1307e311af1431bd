package model

import (
	"context"
	"testing"

	"github.com/reel-video/reel/model/safetensors"
)

// referenceSample runs the test vectors' sampling setup: noise
// sample.noise, prompt 0, negative "", 20 steps, guidance 5, shift 3.
func referenceSample(t *testing.T, e *Engine) []float32 {
	t.Helper()
	ctx := context.Background()
	cond, err := e.EncodeText(ctx, referencePrompts[0])
	if err != nil {
		t.Fatal(err)
	}
	uncond, err := e.EncodeText(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	p := SampleParams{Frames: 32, Steps: 20, Guidance: 5, Shift: 3}
	calls := 0
	lat, err := e.SampleFrom(ctx, cond, uncond, vector(t, "sample.noise"), p, func(step, total int) {
		calls++
		if step != calls || total != p.Steps {
			t.Errorf("progress(%d, %d) on call %d", step, total, calls)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != p.Steps {
		t.Errorf("progress called %d times, want %d", calls, p.Steps)
	}
	return lat
}

func TestSampleMatchesReference(t *testing.T) {
	lat := referenceSample(t, engineF32(t))
	r := relErr(lat, vector(t, "sample.latent"))
	t.Logf("20-step latent rel err %.3g", r)
	if r > 1e-3 {
		t.Errorf("20-step latent rel err %.3g > 1e-3", r)
	}
}

// TestSample48MatchesPyTorch covers the production size, which the shipped
// vectors do not: 48 frames (RoPE time positions up to 11), 30 steps,
// guidance 5, shift 3 (testdata/reel-tiny.gen48.safetensors, made by
// model/bench/pytorch_vectors48.py with PyTorch 1.13 on this machine).
func TestSample48MatchesPyTorch(t *testing.T) {
	f, err := safetensors.ReadFile("testdata/reel-tiny.gen48.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) []float32 {
		tn, ok := f.Get(name)
		if !ok {
			t.Fatalf("missing %s", name)
		}
		v, err := tn.Float32()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	e := engineF32(t)
	ctx := context.Background()
	emb := embeddings(t, e, "a blue square moving up on a white background", "")
	lat, err := e.SampleFrom(ctx, emb[0], emb[1], get("gen48.noise"), SampleParams{Frames: 48, Steps: 30, Guidance: 5, Shift: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := relErr(lat, get("gen48.latent"))
	t.Logf("48-frame 30-step latent rel err %.3g", r)
	if r > 1e-3 {
		t.Errorf("48-frame 30-step latent rel err %.3g > 1e-3", r)
	}
}
