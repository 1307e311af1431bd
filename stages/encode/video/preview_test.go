package video

import (
	"bytes"
	"context"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/png"
	"math"
	"testing"
)

func TestPreviews(t *testing.T) {
	frames := synthFrames(48, tw, th)
	var lb bytes.Buffer
	res := encode(t, context.Background(), tempPath(t, "p.mp4"), Options{Width: tw, Height: th, FPS: tfps, FFmpeg: "none", SeamBlend: -1}, frames, testLog(&lb))

	img, err := png.Decode(bytes.NewReader(res.Poster))
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < th; y++ {
		for x := 0; x < tw; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			p := frames[(y*tw+x)*3:]
			if uint8(r>>8) != p[0] || uint8(g>>8) != p[1] || uint8(b>>8) != p[2] {
				t.Fatalf("poster pixel (%d,%d) differs from the first frame", x, y)
			}
		}
	}

	g, err := gif.DecodeAll(bytes.NewReader(res.GIF))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != 48 {
		t.Fatalf("gif has %d frames, want 48", len(g.Image))
	}
	total := 0
	for _, d := range g.Delay {
		if d != 12 && d != 13 {
			t.Fatalf("delay %d/100 s at 8 fps", d)
		}
		total += d
	}
	if total != 600 {
		t.Fatalf("gif lasts %d/100 s, want 600", total)
	}
	// A decent palette: the median-cut palette beats mapping to the stock
	// Plan 9 palette on the same frame. (The synthetic frames span the whole
	// RGB cube, the worst case for 256 colours; real output is smoother.)
	last := frames[47*tw*th*3:]
	ours := meanAbsErr(last, tw, th, func(x, y int) (uint32, uint32, uint32) {
		r, gg, b, _ := g.Image[47].At(x, y).RGBA()
		return r, gg, b
	})
	plan9 := meanAbsErr(last, tw, th, func(x, y int) (uint32, uint32, uint32) {
		p := last[(y*tw+x)*3:]
		r, gg, b, _ := color.Palette(palette.Plan9).Convert(color.RGBA{p[0], p[1], p[2], 255}).RGBA()
		return r, gg, b
	})
	t.Logf("gif: %d bytes, mean abs error %.2f (Plan 9 palette: %.2f)", len(res.GIF), ours, plan9)
	if ours > 10 || ours >= plan9 {
		t.Fatalf("gif mean abs error %.2f, want ≤ 10 and below Plan 9's %.2f", ours, plan9)
	}
}

func meanAbsErr(src []byte, w, h int, at func(x, y int) (r, g, b uint32)) float64 {
	var sum float64
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, b := at(x, y)
			p := src[(y*w+x)*3:]
			sum += math.Abs(float64(r>>8)-float64(p[0])) + math.Abs(float64(g>>8)-float64(p[1])) + math.Abs(float64(b>>8)-float64(p[2]))
		}
	}
	return sum / float64(w*h*3)
}
