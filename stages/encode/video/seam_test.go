package video

import (
	"bytes"
	"context"
	"testing"
)

func TestBlendSeam(t *testing.T) {
	last, first := []byte{0, 100, 255}, []byte{100, 100, 0}
	BlendSeam(last, first, 0.4)
	// last' = 0.6·last + 0.4·first, first' = 0.6·first + 0.4·last.
	if want := []byte{40, 100, 153}; !bytes.Equal(last, want) {
		t.Errorf("last %v, want %v", last, want)
	}
	if want := []byte{60, 100, 102}; !bytes.Equal(first, want) {
		t.Errorf("first %v, want %v", first, want)
	}
	a, b := []byte{7}, []byte{200}
	BlendSeam(a, b, 0)
	if a[0] != 7 || b[0] != 200 {
		t.Error("blend 0 changed frames")
	}
}

// TestSeamBlendInWriter: only the two frames at each chunk boundary change,
// the held-back last frame is flushed at Close, and nothing is lost.
func TestSeamBlendInWriter(t *testing.T) {
	const fs = 2 * 2 * 3
	// Chunk c has every byte = 10·c+i for frame i, so boundaries jump.
	mk := func(c int) []byte {
		b := make([]byte, 0, 3*fs)
		for i := 0; i < 3; i++ {
			b = append(b, bytes.Repeat([]byte{byte(100*c + 10*i)}, fs)...)
		}
		return b
	}
	var lb bytes.Buffer
	w, err := NewWriter(context.Background(), tempPath(t, "s.mp4"), Options{Width: 2, Height: 2, FPS: 8, FFmpeg: "none", SeamBlend: 0.4}, testLog(&lb))
	if err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 3; c++ {
		if err := w.WriteChunk(mk(c)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.Frames != 9 {
		t.Fatalf("%d frames, want 9", res.Frames)
	}
	got := make([]byte, len(w.frames))
	for i, f := range w.frames {
		got[i] = f[0]
	}
	// Boundary 0|1: 20,100 → 0.6·20+0.4·100=52, 0.6·100+0.4·20=68.
	// Boundary 1|2: 120,200 → 152, 168.
	want := []byte{0, 10, 52, 68, 110, 152, 168, 210, 220}
	if !bytes.Equal(got, want) {
		t.Fatalf("frames %v, want %v", got, want)
	}
}
