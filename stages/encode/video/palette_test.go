package video

import (
	"bytes"
	"context"
	"image/color"
	"image/gif"
	"os"
	"testing"
)

// The pruned nearest search returns exactly what a full scan of the
// palette does (the lowest index on ties), whatever hint it starts from.
func TestPaletteIndexMatchesFullScan(t *testing.T) {
	h := newColorHist()
	frames := synthFrames(16, tw, th)
	for f := 0; f < 16; f++ {
		h.add(frames[f*tw*th*3 : (f+1)*tw*th*3])
	}
	cut, box := medianCut(h.colors, gifColors)
	for _, tc := range []struct {
		name string
		pal  color.Palette
		hint func(id int32) uint8
	}{
		{"median cut, own box", cut, func(id int32) uint8 { return box[id] }},
		{"median cut, entry 0", cut, func(int32) uint8 { return 0 }},
		// Duplicate entries: the tie must go to the lower index.
		{"duplicates", color.Palette{color.RGBA{200, 0, 0, 255}, color.RGBA{0, 0, 200, 255}, color.RGBA{200, 0, 0, 255}, color.RGBA{0, 0, 200, 255}},
			func(int32) uint8 { return 3 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newPaletteIndex(tc.pal)
			for _, c := range h.colors {
				if got, want := x.nearest(c.c, tc.hint(c.id)), fullScan(tc.pal, c.c); got != want {
					t.Fatalf("nearest %v: entry %d, full scan says %d", c.c, got, want)
				}
			}
		})
	}
}

func fullScan(pal color.Palette, c [3]uint8) uint8 {
	q := [3]int{int(c[0]), int(c[1]), int(c[2])}
	best, bd := 0, -1
	for i, pc := range pal {
		r, g, b, _ := pc.RGBA()
		if d := distance(q, [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}); bd < 0 || d < bd {
			best, bd = i, d
		}
	}
	return uint8(best)
}

// Every pixel counts: a colour covering a small share of the frames still
// gets a palette entry of its own when there is room, and each entry is
// its pixels' weighted mean.
func TestMedianCutWeights(t *testing.T) {
	h := newColorHist()
	frame := bytes.Repeat([]byte{10, 20, 30}, 99)
	frame = append(frame, 250, 240, 230)
	h.add(frame)
	pal, box := medianCut(h.colors, 2)
	if len(pal) != 2 || box[0] == box[1] {
		t.Fatalf("palette %v, boxes %v: want the two colours apart", pal, box)
	}
	if got := pal[box[1]]; got != (color.RGBA{250, 240, 230, 255}) {
		t.Fatalf("rare colour's entry %v", got)
	}
	pal, _ = medianCut(h.colors, 1)
	// (99·10 + 250) / 100 = 12.4 → 12, and so on.
	if want := (color.RGBA{12, 22, 32, 255}); len(pal) != 1 || pal[0] != want {
		t.Fatalf("one-colour palette %v, want the weighted mean %v", pal, want)
	}
}

// Same frames, same bytes: the MP4 (on both encoders), the poster and the
// GIF do not change from one run to the next.
func TestOutputsDeterministic(t *testing.T) {
	frames := synthFrames(40, tw, th)
	for _, ff := range []string{"", "none"} {
		name := "ffmpeg"
		if ff == "none" {
			name = "purego"
		} else {
			needTool(t, "ffmpeg")
		}
		t.Run(name, func(t *testing.T) {
			o := Options{Width: tw, Height: th, FPS: tfps, FFmpeg: ff}
			var first Result
			var firstMP4 []byte
			for run := range 2 {
				var lb bytes.Buffer
				res := encode(t, context.Background(), tempPath(t, "d.mp4"), o, frames, testLog(&lb))
				mp4, err := os.ReadFile(res.Path)
				if err != nil {
					t.Fatal(err)
				}
				if run == 0 {
					first, firstMP4 = res, mp4
					continue
				}
				if res.Encoder != first.Encoder || !bytes.Equal(mp4, firstMP4) || !bytes.Equal(res.Poster, first.Poster) || !bytes.Equal(res.GIF, first.GIF) {
					t.Fatalf("run 2 differs: encoder %s/%s, mp4 %d/%d B, poster %d/%d B, gif %d/%d B",
						res.Encoder, first.Encoder, len(mp4), len(firstMP4), len(res.Poster), len(first.Poster), len(res.GIF), len(first.GIF))
				}
			}
			g, err := gif.DecodeAll(bytes.NewReader(first.GIF))
			if err != nil || len(g.Image) != 40 {
				t.Fatalf("gif: %v, %d frames", err, len(g.Image))
			}
		})
	}
}
