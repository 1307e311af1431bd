package video

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"sort"
)

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

// animatedGIF makes a looping GIF preview with one global median-cut palette
// built from all frames. A shared palette keeps colours stable from frame to
// frame; no dithering, because dither noise that changes every frame
// flickers and bloats the file.
//
// GIF delays are in 1/100 s, so 8 fps (12.5) cannot be exact per frame; the
// delays alternate so the running total stays within 1/100 s of frames/fps.
func animatedGIF(frames [][]byte, w, h, fps int) ([]byte, error) {
	pal := medianCut(frames, 256)
	lut := newNearestLUT(pal)
	// One global colour table (Config.ColorModel); frames whose palette
	// equals it carry no local table.
	g := &gif.GIF{LoopCount: 0, Config: image.Config{ColorModel: pal, Width: w, Height: h}}
	for i, f := range frames {
		img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
		for p := 0; p < w*h; p++ {
			img.Pix[p] = lut.index(f[3*p], f[3*p+1], f[3*p+2])
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

// medianCut builds a palette of at most n colours: repeatedly split the box
// with the widest channel range at its median. Pixels are subsampled so large
// videos stay cheap.
func medianCut(frames [][]byte, n int) color.Palette {
	var px [][3]uint8
	total := 0
	for _, f := range frames {
		total += len(f) / 3
	}
	step := max(1, total/65536)
	k := 0
	for _, f := range frames {
		for i := 0; i+2 < len(f); i += 3 {
			if k%step == 0 {
				px = append(px, [3]uint8{f[i], f[i+1], f[i+2]})
			}
			k++
		}
	}
	boxes := [][][3]uint8{px}
	for len(boxes) < n {
		bi, bc, br := -1, 0, 0
		for i, b := range boxes {
			if len(b) < 2 {
				continue
			}
			c, r := widest(b)
			if r > br {
				bi, bc, br = i, c, r
			}
		}
		if bi < 0 {
			break // every box is a single colour
		}
		b := boxes[bi]
		sort.Slice(b, func(i, j int) bool { return b[i][bc] < b[j][bc] })
		m := len(b) / 2
		boxes[bi] = b[:m]
		boxes = append(boxes, b[m:])
	}
	pal := make(color.Palette, 0, len(boxes))
	for _, b := range boxes {
		var s [3]int
		for _, p := range b {
			s[0] += int(p[0])
			s[1] += int(p[1])
			s[2] += int(p[2])
		}
		l := max(1, len(b))
		pal = append(pal, color.RGBA{uint8((s[0] + l/2) / l), uint8((s[1] + l/2) / l), uint8((s[2] + l/2) / l), 255})
	}
	return pal
}

// widest returns the channel with the largest range in b and that range.
func widest(b [][3]uint8) (ch, rng int) {
	lo, hi := [3]uint8{255, 255, 255}, [3]uint8{}
	for _, p := range b {
		for c := 0; c < 3; c++ {
			lo[c] = min(lo[c], p[c])
			hi[c] = max(hi[c], p[c])
		}
	}
	for c := 0; c < 3; c++ {
		if r := int(hi[c]) - int(lo[c]); r > rng {
			ch, rng = c, r
		}
	}
	return ch, rng
}

// nearestLUT memoises nearest-palette-entry lookups per exact colour.
type nearestLUT struct {
	pal   color.Palette
	cache map[uint32]uint8
}

func newNearestLUT(pal color.Palette) *nearestLUT {
	return &nearestLUT{pal: pal, cache: make(map[uint32]uint8)}
}

func (l *nearestLUT) index(r, g, b uint8) uint8 {
	key := uint32(r)<<16 | uint32(g)<<8 | uint32(b)
	if i, ok := l.cache[key]; ok {
		return i
	}
	best, bd := 0, 1<<30
	for i, c := range l.pal {
		pc := c.(color.RGBA)
		dr, dg, db := int(pc.R)-int(r), int(pc.G)-int(g), int(pc.B)-int(b)
		// Weighted distance: the eye is most sensitive to green.
		if d := 2*dr*dr + 4*dg*dg + 3*db*db; d < bd {
			best, bd = i, d
		}
	}
	l.cache[key] = uint8(best)
	return uint8(best)
}
