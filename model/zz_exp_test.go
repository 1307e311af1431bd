package model

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/reel-video/reel/model/videotest"
	"github.com/reel-video/reel/stages/encode/video"
)

func (e *Engine) expWindows(ctx context.Context, cond, uncond *TextEmbedding, p SampleParams, win Windowing, cont float64) ([]float32, error) {
	win, _ = e.checkWindowing(win)
	conds, _ := e.prepareConds(cond, uncond)
	t := e.cfg.LatentFrames(p.Frames)
	plane := e.cfg.latentPlane()
	noise := Noise(p.Seed, e.cfg.LatentSize(p.Frames))
	out := make([]float32, len(noise))
	ws := plan(t, e.cfg.LatentFrames(win.Frames), e.cfg.LatentFrames(win.Overlap))
	l := ws[0].len
	s := &sampler{e: e, conds: conds, w: e.dit.newWork(len(conds), l)}
	n := latentChannels * l * plane
	eps, x := make([]float32, n), make([]float32, n)
	for k, wk := range ws {
		sliceFrames(eps, noise, t, wk.start, l, plane)
		copy(x, eps)
		g := &Guide{Known: make([]float32, n), Fixed: make([]bool, l)}
		sliceFrames(g.Known, out, t, wk.start, l, plane)
		for f := range g.Fixed {
			g.Fixed[f] = wk.start+f < wk.done
		}
		if k > 0 && cont > 0 {
			g.Init, g.Strength = make([]float32, n), cont
			copy(g.Init, g.Known)
			last := wk.done - wk.start - 1
			for c := 0; c < latentChannels; c++ {
				for f := last + 1; f < l; f++ {
					copy(g.Init[(c*l+f)*plane:(c*l+f+1)*plane], g.Known[(c*l+last)*plane:(c*l+last+1)*plane])
				}
			}
		}
		if err := s.run(ctx, x, eps, p, g, nil); err != nil {
			return nil, err
		}
		for c := 0; c < latentChannels; c++ {
			copy(out[(c*t+wk.done)*plane:(c*t+wk.start+l)*plane], x[(c*l+wk.done-wk.start)*plane:(c*l+l)*plane])
		}
	}
	return out, nil
}

func TestExpWindows(t *testing.T) {
	e := fp8(t)
	ctx := context.Background()
	prompt := os.Getenv("P")
	if prompt == "" {
		prompt = "a red circle moving right"
	}
	emb := embeddings(t, e, prompt, "")
	red := func(r, g, b byte) bool { return r > 140 && g < 110 && b < 110 }
	steps, _ := strconv.Atoi(os.Getenv("STEPS"))
	for _, ov := range []int{16} {
		for _, cont := range []float64{0.8, 0.9} {
			for seed := int64(1); seed <= 2; seed++ {
				p := SampleParams{Frames: 192, Steps: steps, Guidance: 5, Shift: 3, Seed: seed}
				st := time.Now()
				lat, err := e.expWindows(ctx, emb[0], emb[1], p, Windowing{48, ov}, cont)
				if err != nil {
					t.Fatal(err)
				}
				v, _ := e.DecodeChunks(ctx, lat, 48)
				rgb := ToRGB24(v)
				fs := 64 * 64 * 3
				for b := 16; b < 192; b += 16 {
					video.BlendSeam(rgb[(b-1)*fs:b*fs], rgb[b*fs:(b+1)*fs], 0.3)
				}
				m, _ := videotest.Measure(rgb, 64, 64, red)
				d, i := m.MaxDiff()
				j, ji := m.MaxJump()
				var xs []string
				for k := 0; k < 192; k += 16 {
					xs = append(xs, fmt.Sprintf("%.0f", m.Centroids[k][0]))
				}
				fmt.Printf("ov %d cont %.2f seed %d %v: med %.2f max %.2f@%d (%.1fx) jump %.2f@%d vis %d ok=%v %v\n", ov, cont, seed, time.Since(st).Round(time.Millisecond), m.MedianDiff(), d, i, d/m.MedianDiff(), j, ji, m.Visible(), m.Check(4, 4) == nil, xs)
			}
		}
	}
}
