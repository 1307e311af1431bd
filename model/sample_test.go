package model

import (
	"context"
	"testing"
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
