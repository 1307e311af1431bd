package model

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		t, l, o int
		want    []window
	}{
		{12, 12, 4, []window{{0, 12, 0}}},
		{4, 12, 4, []window{{0, 4, 0}}},
		{20, 12, 4, []window{{0, 12, 0}, {8, 12, 12}}},
		{24, 12, 4, []window{{0, 12, 0}, {8, 12, 12}, {12, 12, 20}}},
		{48, 12, 4, []window{{0, 12, 0}, {8, 12, 12}, {16, 12, 20}, {24, 12, 28}, {32, 12, 36}, {36, 12, 44}}},
		{16, 12, 8, []window{{0, 12, 0}, {4, 12, 12}}},
		{24, 12, 0, []window{{0, 12, 0}, {12, 12, 12}}},
	} {
		if got := plan(tc.t, tc.l, tc.o); !slices.Equal(got, tc.want) {
			t.Errorf("plan(%d, %d, %d) = %v, want %v", tc.t, tc.l, tc.o, got, tc.want)
		}
	}
	// Every window has the trained length, overlaps by at least o, and
	// together they cover the video once.
	for tl := 16; tl <= 192; tl += 4 {
		ws := plan(tl, 12, 4)
		for k, w := range ws {
			if w.len != 12 || w.start+w.len > tl || k > 0 && (w.done != ws[k-1].start+12 || w.done-w.start < 4) {
				t.Fatalf("plan(%d, 12, 4): window %d %+v of %v", tl, k, w, ws)
			}
		}
		if last := ws[len(ws)-1]; last.start+last.len != tl {
			t.Fatalf("plan(%d, 12, 4) ends at %d", tl, last.start+last.len)
		}
	}
}

// TestWindowsOneWindowIsSample: a video no longer than a window is exactly
// Sample's, emitted chunk by chunk.
func TestWindowsOneWindowIsSample(t *testing.T) {
	e := fp8(t)
	ctx := context.Background()
	emb := embeddings(t, e, "a red circle moving right", "")
	p := SampleParams{Frames: 48, Steps: 3, Guidance: 5, Shift: 3, Seed: 4}
	want, err := e.Sample(ctx, emb[0], emb[1], p, nil)
	if err != nil {
		t.Fatal(err)
	}
	var prog []WindowProgress
	got, err := e.windowsLatent(ctx, emb[0], emb[1], p, Windowing{}, func(wp WindowProgress) { prog = append(prog, wp) })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("one window differs from Sample (rel err %.3g)", relErr(got, want))
	}
	if len(prog) != 3 || prog[2] != (WindowProgress{Window: 1, Windows: 1, Step: 3, Steps: 3}) {
		t.Errorf("progress %v", prog)
	}
}

// TestWindows: a 96-frame video in windows of 48 overlapping 16: chunks
// arrive in order as their window finishes, progress counts windows and
// steps, the result is deterministic, and each window continues from the
// previous one (its first chunk is the previous window's last, exactly).
func TestWindows(t *testing.T) {
	e := fp8(t)
	ctx := context.Background()
	emb := embeddings(t, e, "a red circle moving right", "")
	p := SampleParams{Frames: 96, Steps: 2, Guidance: 5, Shift: 3, Seed: 4}
	win := Windowing{Frames: 48, Overlap: 16}
	type event struct {
		chunk  int
		window int
	}
	var events []event
	var prog []WindowProgress
	window := 0
	err := e.SampleWindows(ctx, emb[0], emb[1], p, win, func(c int, lat []float32) error {
		if len(lat) != 8*4*64 {
			t.Fatalf("chunk %d has %d values", c, len(lat))
		}
		events = append(events, event{c, window})
		return nil
	}, func(wp WindowProgress) {
		prog = append(prog, wp)
		window = wp.Window
	})
	if err != nil {
		t.Fatal(err)
	}
	// T = 24 latent frames: windows [0,12) [8,20) [12,24) emit chunks 0-2, 3-4, 5.
	wantEvents := []event{{0, 1}, {1, 1}, {2, 1}, {3, 2}, {4, 2}, {5, 3}}
	if !slices.Equal(events, wantEvents) {
		t.Errorf("chunks (chunk, window) %v, want %v", events, wantEvents)
	}
	if len(prog) != 6 || prog[0] != (WindowProgress{1, 3, 1, 2}) || prog[5] != (WindowProgress{3, 3, 2, 2}) {
		t.Errorf("progress %v", prog)
	}
	a, err := e.windowsLatent(ctx, emb[0], emb[1], p, win, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.windowsLatent(ctx, emb[0], emb[1], p, win, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, b) {
		t.Error("windowed sampling is not deterministic")
	}
	// Window 1 alone is the first 48 frames of the windowed video: a
	// window sees only its own frames (and the noise of the whole video).
	w1 := make([]float32, 8*12*64)
	sliceFrames(w1, Noise(p.Seed, len(a)), latentChannels, 24, 0, 12, 64)
	first, err := e.SampleFrom(ctx, emb[0], emb[1], w1, SampleParams{Frames: 48, Steps: 2, Guidance: 5, Shift: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for c := range 3 {
		if !slices.Equal(LatentChunk(first, 12, c), LatentChunk(a, 24, c)) {
			t.Errorf("chunk %d differs from window 1 sampled alone", c)
		}
	}
}

func TestWindowsStops(t *testing.T) {
	e := fp8(t)
	emb := embeddings(t, e, "a red circle moving right", "")
	p := SampleParams{Frames: 96, Steps: 2, Guidance: 5, Shift: 3, Seed: 4}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := e.SampleWindows(ctx, emb[0], emb[1], p, Windowing{}, func(int, []float32) error { return nil }, func(wp WindowProgress) {
		if wp.Window == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled in window 2: err = %v", err)
	}
	stop := errors.New("stop")
	calls := 0
	err = e.SampleWindows(context.Background(), emb[0], emb[1], p, Windowing{}, func(int, []float32) error { calls++; return stop }, nil)
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("emit error: err = %v after %d calls", err, calls)
	}
	for _, w := range []Windowing{{Frames: 40, Overlap: 16}, {Frames: 48, Overlap: 48}, {Frames: 48, Overlap: -16}, {Frames: -48}} {
		if err := e.SampleWindows(context.Background(), emb[0], emb[1], p, w, nil, nil); !errors.Is(err, ErrInput) {
			t.Errorf("windowing %+v: err = %v, want ErrInput", w, err)
		}
	}
}
