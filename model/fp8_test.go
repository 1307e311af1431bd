package model

import (
	"context"
	"sync"
	"testing"
)

var fp8Engine = sync.OnceValues(func() (*Engine, error) { return Load(Options{}) })

// TestFP8SampleCloseToBF16 runs the reference sampling setup with the
// embedded FP8 DiT and compares it with the float32 (BF16-weight) engine.
func TestFP8SampleCloseToBF16(t *testing.T) {
	e8, err := fp8Engine()
	if err != nil {
		t.Fatal(err)
	}
	if !e8.DiTFP8() {
		t.Fatal("embedded DiT did not load as FP8")
	}
	e32 := engineF32(t)
	lat8 := referenceSample(t, e8)
	lat32 := referenceSample(t, e32)
	cos := cosine(lat8, lat32)
	t.Logf("FP8 vs BF16 20-step latent: cosine %.6f, rel err %.3g", cos, relErr(lat8, lat32))
	if cos < 0.99 {
		t.Errorf("cosine similarity %.6f < 0.99", cos)
	}
	ctx := context.Background()
	vid8, err := e8.DecodeChunks(ctx, lat8, 8)
	if err != nil {
		t.Fatal(err)
	}
	vid32, err := e32.DecodeChunks(ctx, lat32, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("FP8 vs BF16 decoded video (32 frames): PSNR %.2f dB", psnr(vid8, vid32))
}
