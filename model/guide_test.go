package model

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
)

func TestTruncateSchedule(t *testing.T) {
	sig := sigmaSchedule(30, 3)
	if got := truncateSchedule(sig, 1); !slices.Equal(got, sig) {
		t.Errorf("strength 1 changed the schedule: %v", got)
	}
	want := []float32{0.6}
	for _, v := range sig {
		if v < 0.6 {
			want = append(want, v)
		}
	}
	if got := truncateSchedule(sig, 0.6); !slices.Equal(got, want) || len(got) < 3 {
		t.Errorf("strength 0.6: %v, want %v", got, want)
	}
}

// TestStrengthOneIsFresh: sampling from any latent at strength 1 is
// exactly a fresh generation with that seed.
func TestStrengthOneIsFresh(t *testing.T) {
	e := fp8(t)
	ctx := context.Background()
	emb := embeddings(t, e, "a red circle moving right", "")
	p := SampleParams{Frames: 32, Steps: 4, Guidance: 5, Shift: 3, Seed: 3}
	fresh, err := e.Sample(ctx, emb[0], emb[1], p, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Guide = &Guide{Init: Noise(99, len(fresh)), Strength: 1}
	got, err := e.Sample(ctx, emb[0], emb[1], p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, fresh) {
		t.Errorf("strength 1 differs from a fresh generation (rel err %.3g)", relErr(got, fresh))
	}
}

// TestStrength: a lower strength runs the truncated schedule, is
// deterministic, and stays nearer its init latent than a fresh generation.
func TestStrength(t *testing.T) {
	e := fp8(t)
	ctx := context.Background()
	emb := embeddings(t, e, "a red circle moving right", "")
	blue := embeddings(t, e, "a blue circle moving right")[0]
	p := SampleParams{Frames: 32, Steps: 10, Guidance: 5, Shift: 3, Seed: 1}
	parent, err := e.Sample(ctx, emb[0], emb[1], p, nil)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := e.Sample(ctx, blue, emb[1], p, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Guide = &Guide{Init: parent, Strength: 0.6}
	steps := 0
	a, err := e.Sample(ctx, blue, emb[1], p, func(step, total int) { steps = total })
	if err != nil {
		t.Fatal(err)
	}
	if want := len(truncateSchedule(sigmaSchedule(10, 3), 0.6)) - 1; steps != want || steps >= 10 {
		t.Errorf("strength 0.6 ran %d steps, want %d (< 10)", steps, want)
	}
	b, err := e.Sample(ctx, blue, emb[1], p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, b) {
		t.Error("strength sampling is not deterministic")
	}
	near, far := relErr(a, parent), relErr(fresh, parent)
	t.Logf("distance to the parent latent: strength 0.6 %.3f, fresh %.3f", near, far)
	if near >= far {
		t.Errorf("strength 0.6 is %.3f from its parent, a fresh generation %.3f", near, far)
	}
}

// TestKnownFrames: fixed frames come out exactly as given, the others are
// generated, deterministically; no fixed frame is a plain generation.
func TestKnownFrames(t *testing.T) {
	e := fp8(t)
	ctx := context.Background()
	emb := embeddings(t, e, "a red circle moving right", "")
	p := SampleParams{Frames: 32, Steps: 4, Guidance: 5, Shift: 3, Seed: 2}
	plain, err := e.Sample(ctx, emb[0], emb[1], p, nil)
	if err != nil {
		t.Fatal(err)
	}
	const tl = 8
	known := Noise(5, len(plain))
	p.Guide = &Guide{Known: known, Fixed: make([]bool, tl)}
	none, err := e.Sample(ctx, emb[0], emb[1], p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(none, plain) {
		t.Error("a guide fixing no frame changed the result")
	}
	for f := range 4 {
		p.Guide.Fixed[f] = true
	}
	a, err := e.Sample(ctx, emb[0], emb[1], p, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.Sample(ctx, emb[0], emb[1], p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, b) {
		t.Error("known-frame sampling is not deterministic")
	}
	if !slices.Equal(LatentChunk(a, tl, 0), LatentChunk(known, tl, 0)) {
		t.Error("fixed frames differ from the known latent")
	}
	if d := relErr(LatentChunk(a, tl, 1), LatentChunk(plain, tl, 1)); d == 0 || math.IsNaN(d) {
		t.Errorf("generated frames ignore the known ones (rel diff %v from the plain sample)", d)
	}
}

func TestGuideRejected(t *testing.T) {
	e := fp8(t)
	emb := embeddings(t, e, "x")[0]
	n := 8 * 8 * 64
	nan := make([]float32, n)
	nan[7] = float32(math.NaN())
	for _, g := range []*Guide{
		{Known: make([]float32, n), Fixed: make([]bool, 4)},
		{Known: make([]float32, n-1), Fixed: make([]bool, 8)},
		{Known: nan, Fixed: make([]bool, 8)},
		{Init: make([]float32, n), Strength: 0},
		{Init: make([]float32, n), Strength: 1.5},
		{Init: make([]float32, n+1), Strength: 0.5},
		{Init: nan, Strength: 0.5},
		{Strength: 0.5},
	} {
		p := SampleParams{Frames: 32, Steps: 1, Guidance: 5, Shift: 3, Guide: g}
		if _, err := e.Sample(context.Background(), emb, nil, p, nil); !errors.Is(err, ErrInput) {
			t.Errorf("guide %d known, %d fixed, %d init, strength %v: err = %v, want ErrInput", len(g.Known), len(g.Fixed), len(g.Init), g.Strength, err)
		}
	}
}
