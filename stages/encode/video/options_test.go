package video

import (
	"bytes"
	"context"
	"testing"
)

func TestOptionsValidation(t *testing.T) {
	bad := []Options{
		{Width: 0, Height: 64, FPS: 8},
		{Width: 63, Height: 64, FPS: 8},
		{Width: 64, Height: 64, FPS: 0},
		{Width: 64, Height: 64, FPS: 8, Codec: "vp9"},
		{Width: 64, Height: 64, FPS: 8, CRF: 52},
		{Width: 64, Height: 64, FPS: 8, SeamBlend: 0.7},
	}
	for _, o := range bad {
		var lb bytes.Buffer
		if _, err := NewWriter(context.Background(), tempPath(t, "x.mp4"), o, testLog(&lb)); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	o, err := Options{Width: 64, Height: 64, FPS: 8}.withDefaults()
	if err != nil || o.Codec != "h264" || o.CRF != DefaultCRF || o.SeamBlend != DefaultSeamBlend {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	if o, _ := (Options{Width: 64, Height: 64, FPS: 8, SeamBlend: -1}).withDefaults(); o.SeamBlend != 0 {
		t.Fatalf("negative seam blend should turn it off, got %v", o.SeamBlend)
	}
}

func TestWriteChunkRejectsPartialFrames(t *testing.T) {
	var lb bytes.Buffer
	w, err := NewWriter(context.Background(), tempPath(t, "x.mp4"), Options{Width: 64, Height: 64, FPS: 8, FFmpeg: "none"}, testLog(&lb))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.WriteChunk(make([]byte, 64*64*3+1)); err == nil {
		t.Fatal("partial frame accepted")
	}
	if err := w.WriteChunk(nil); err == nil {
		t.Fatal("empty chunk accepted")
	}
}

func TestCloseWithoutFrames(t *testing.T) {
	var lb bytes.Buffer
	w, err := NewWriter(context.Background(), tempPath(t, "x.mp4"), Options{Width: 64, Height: 64, FPS: 8}, testLog(&lb))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); err == nil {
		t.Fatal("Close with no frames succeeded")
	}
}
