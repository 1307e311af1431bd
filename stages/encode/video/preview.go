package video

import (
	"bytes"
	"fmt"
	"image"
	"image/gif"
	"image/png"
)

// gifColors is the GIF format's colour table limit.
const gifColors = 256

// previews builds the poster PNG and the animated GIF as frames are
// emitted: the poster from the first frame at once, the GIF's colour
// histogram frame by frame (colorHist). What is left when the stream ends
// (finish) is per-colour work, a lookup per pixel and GIF's LZW, which the
// writer runs while ffmpeg finishes the MP4.
type previews struct {
	w, h   int
	poster []byte
	hist   *colorHist
	frames int
	err    error // the poster's PNG error, reported by finish
}

func newPreviews(w, h int) *previews { return &previews{w: w, h: h, hist: newColorHist()} }

// add takes the next emitted frame (packed RGB24).
func (p *previews) add(rgb []byte) {
	if p.frames == 0 {
		p.poster, p.err = posterPNG(rgb, p.w, p.h)
	}
	p.hist.add(rgb)
	p.frames++
}

// finish returns the poster and a looping GIF at fps of frames, the frames
// given to add, in order.
func (p *previews) finish(frames [][]byte, fps int) (poster, anim []byte, err error) {
	if p.err != nil {
		return nil, nil, p.err
	}
	if len(frames) != p.frames {
		return nil, nil, fmt.Errorf("video: previews of %d frames, %d counted", len(frames), p.frames)
	}
	anim, err = animatedGIF(p.hist, frames, p.w, p.h, fps)
	return p.poster, anim, err
}

// rgbImage converts a packed RGB24 frame to an opaque NRGBA image.
func rgbImage(rgb []byte, w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = rgb[3*i], rgb[3*i+1], rgb[3*i+2], 255
	}
	return img
}

// posterPNG encodes the first frame as a PNG poster image.
func posterPNG(rgb []byte, w, h int) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, rgbImage(rgb, w, h)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// animatedGIF makes a looping GIF of the histogram's frames with one global
// median-cut palette built from every pixel of every frame. A shared
// palette keeps colours stable from frame to frame; no dithering, because
// dither noise that changes every frame flickers and bloats the file.
//
// GIF delays are in 1/100 s, so 8 fps (12.5) cannot be exact per frame; the
// delays alternate so the running total stays within 1/100 s of frames/fps.
func animatedGIF(hist *colorHist, frames [][]byte, w, h, fps int) ([]byte, error) {
	pal, entry := medianCut(hist.colors, gifColors)
	idx := newPaletteIndex(pal)
	// Each distinct colour's palette entry, then every pixel through it.
	for i, c := range hist.colors {
		entry[i] = idx.nearest(c.c, entry[i])
	}
	// One global colour table (Config.ColorModel); frames whose palette
	// equals it carry no local table.
	g := &gif.GIF{LoopCount: 0, Config: image.Config{ColorModel: pal, Width: w, Height: h}}
	for i, f := range frames {
		img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
		for p := range img.Pix {
			img.Pix[p] = entry[hist.ids[key(f[3*p], f[3*p+1], f[3*p+2])]]
		}
		g.Image = append(g.Image, img)
		// Exact cumulative timing: frame i ends at round((i+1)·100/fps).
		end := ((i+1)*200/fps + 1) / 2
		start := (i*200/fps + 1) / 2
		g.Delay = append(g.Delay, end-start)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
