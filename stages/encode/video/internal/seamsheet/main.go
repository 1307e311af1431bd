//go:build seamsheet

// Command seamsheet renders real reel-tiny output around chunk boundaries
// with several seam-blend weights into one PNG contact sheet, and prints the
// mean absolute frame-to-frame difference at and away from the boundaries.
// It is how the default Options.SeamBlend was chosen (docs/seam-blend.md).
//
//	go run -tags seamsheet ./stages/encode/video/internal/seamsheet -out sheet.png
//
// Layout: one band per prompt; in each band one row per blend weight (in
// the order of -blends), each row frames 13–18 | 29–34 (boundaries after
// frames 15 and 31), then a row of |frame − previous frame| ×4 for the
// unblended video. Pixels are scaled ×3.
package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/stages/encode/video"
)

const scale = 3

func main() {
	out := flag.String("out", "seam-sheet.png", "output PNG")
	blends := flag.String("blends", "0,0.2,0.4,0.5", "seam blend weights, one row each")
	steps := flag.Int("steps", 30, "sampler steps")
	seed := flag.Int64("seed", 42, "noise seed")
	flag.Parse()
	prompts := flag.Args()
	if len(prompts) == 0 {
		prompts = []string{
			"a red circle moving right",
			"a blue square moving up, white background",
			"a yellow triangle moving left on a gray background",
			"a green circle moving down",
		}
	}
	var ws []float64
	for _, s := range strings.Split(*blends, ",") {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			log.Fatal(err)
		}
		ws = append(ws, v)
	}

	e, err := model.Load(model.Options{})
	if err != nil {
		log.Fatal(err)
	}
	cfg := e.Config()
	w, h := cfg.Width, cfg.Height
	ctx := context.Background()
	uncond, err := e.EncodeText(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	cols := []int{13, 14, 15, 16, 17, 18, -1, 29, 30, 31, 32, 33, 34}
	rowsPer := len(ws) + 1
	sheetW := len(cols) * (w + 2) * scale
	sheetH := len(prompts) * (rowsPer*(h+2) + 6) * scale
	sheet := image.NewRGBA(image.Rect(0, 0, sheetW, sheetH))
	for i := range sheet.Pix {
		sheet.Pix[i] = 40
	}
	worst := make([]float64, len(ws))
	for pi, prompt := range prompts {
		cond, err := e.EncodeText(ctx, prompt)
		if err != nil {
			log.Fatal(err)
		}
		p := model.DefaultSampleParams()
		p.Steps, p.Seed = *steps, *seed
		lat, err := e.Sample(ctx, cond, uncond, p, func(int, int) {})
		if err != nil {
			log.Fatal(err)
		}
		vid, err := e.DecodeChunks(ctx, lat, p.Frames/4)
		if err != nil {
			log.Fatal(err)
		}
		raw := model.ToRGB24(vid)
		fs := w * h * 3
		n := len(raw) / fs
		fmt.Printf("%q\n", prompt)
		y0 := pi * (rowsPer*(h+2) + 6)
		for ri, bw := range ws {
			frames := blendAll(raw, n, fs, cfg.FramesPerChunk, bw)
			worst[ri] += report(frames, n, fs, cfg.FramesPerChunk, bw)
			for ci, f := range cols {
				if f >= 0 {
					put(sheet, frames[f*fs:(f+1)*fs], w, h, ci*(w+2), y0+ri*(h+2), 1)
				}
			}
		}
		for ci, f := range cols {
			if f >= 1 {
				d := make([]byte, fs)
				for i := range d {
					d[i] = uint8(min(255, 4*int(math.Abs(float64(raw[f*fs+i])-float64(raw[(f-1)*fs+i])))))
				}
				put(sheet, d, w, h, ci*(w+2), y0+len(ws)*(h+2), 1)
			}
		}
	}
	fmt.Println("worst of the three steps around a boundary ÷ within-chunk mean step, averaged over all boundaries and prompts:")
	for ri, bw := range ws {
		fmt.Printf("  blend %.2f: %.2f\n", bw, worst[ri]/float64(len(prompts)))
	}
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if err := png.Encode(f, sheet); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

// blendAll applies the writer's seam mix to a copy.
func blendAll(raw []byte, n, fs, chunk int, s float64) []byte {
	out := append([]byte(nil), raw...)
	for b := chunk; b < n; b += chunk {
		video.BlendSeam(out[(b-1)*fs:b*fs], out[b*fs:(b+1)*fs], s)
	}
	return out
}

// report prints mean |Δ| between consecutive frames: across each boundary,
// at the frames next to it, and the mean elsewhere. It returns, averaged
// over the boundaries, the largest of the three steps around a boundary
// divided by the within-chunk mean step: 1 means the seam is invisible in
// this measure, the unblended value is the size of the pop.
func report(frames []byte, n, fs, chunk int, s float64) float64 {
	mad := make([]float64, n)
	for i := 1; i < n; i++ {
		var sum float64
		for j := 0; j < fs; j++ {
			sum += math.Abs(float64(frames[i*fs+j]) - float64(frames[(i-1)*fs+j]))
		}
		mad[i] = sum / float64(fs)
	}
	var inner []float64
	for i := 1; i < n; i++ {
		if d := i % chunk; d != 0 && d != 1 && d != chunk-1 {
			inner = append(inner, mad[i])
		}
	}
	var b strings.Builder
	var worst float64
	nb := 0
	for bd := chunk; bd < n; bd += chunk {
		worst += max(mad[bd-1], mad[bd], mad[bd+1]) / mean(inner)
		nb++
		fmt.Fprintf(&b, " [%d→%d %.2f | %d→%d %.2f | %d→%d %.2f]", bd-2, bd-1, mad[bd-1], bd-1, bd, mad[bd], bd, bd+1, mad[bd+1])
	}
	fmt.Printf("  blend %.2f: within-chunk mean |Δ| %.2f (max %.2f);%s\n", s, mean(inner), maxf(inner), b.String())
	return worst / float64(nb)
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func maxf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// put draws an RGB24 frame at cell (x0, y0) (in unscaled pixels) ×scale.
func put(dst *image.RGBA, rgb []byte, w, h, x0, y0, _ int) {
	for y := 0; y < h*scale; y++ {
		for x := 0; x < w*scale; x++ {
			p := rgb[((y/scale)*w+x/scale)*3:]
			dst.Set(x0*scale+x, y0*scale+y, color.RGBA{p[0], p[1], p[2], 255})
		}
	}
}
