package model

import (
	"context"
	"testing"
)

// BenchmarkDiTStep is one guided sampling step of a 48-frame video (prompt
// and negative batched, 192 tokens each).
func BenchmarkDiTStep(b *testing.B) {
	for _, v := range []struct {
		name string
		load func() (*Engine, error)
	}{{"fp8", fp8Engine}, {"f32", bf16Engine}} {
		b.Run(v.name, func(b *testing.B) {
			e, err := v.load()
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			cond, _ := e.EncodeText(ctx, "a red circle moving right")
			uncond, _ := e.EncodeText(ctx, "")
			const tl = 12
			conds := []*textCond{e.dit.prepareText(cond), e.dit.prepareText(uncond)}
			w := e.dit.newWork(2, tl)
			z := Noise(1, latentChannels*tl*latentPlane)
			out := [][]float32{make([]float32, len(z)), make([]float32, len(z))}
			b.ResetTimer()
			for b.Loop() {
				e.dit.forward(w, z, 0.5, conds, out)
			}
		})
	}
}

// BenchmarkDecodeChunk decodes one latent chunk into 16 frames.
func BenchmarkDecodeChunk(b *testing.B) {
	e, err := fp8Engine()
	if err != nil {
		b.Fatal(err)
	}
	chunk := Noise(1, latentChannels*latentFrames*latentPlane)
	ctx := context.Background()
	for b.Loop() {
		if _, err := e.DecodeChunk(ctx, chunk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerate48 is the whole generation that reel bench times and
// model/bench/anchors.sh compares with PyTorch: encode prompt and negative,
// 30 guided steps, decode 3 chunks to RGB.
func BenchmarkGenerate48(b *testing.B) {
	e, err := fp8Engine()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		cond, _ := e.EncodeText(ctx, "a red circle moving right")
		uncond, _ := e.EncodeText(ctx, "")
		lat, err := e.Sample(ctx, cond, uncond, DefaultSampleParams(), nil)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			vid, err := e.DecodeChunk(ctx, LatentChunk(lat, 12, i))
			if err != nil {
				b.Fatal(err)
			}
			_ = ToRGB24(vid)
		}
	}
}
