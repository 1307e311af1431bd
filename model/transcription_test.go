package model

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/reel-video/reel/internal/tooltest"
	"github.com/reel-video/reel/model/safetensors"
)

const python = tooltest.Python

// refModelDir finds the reference model (reel_tiny.py and its BF16
// weights), which lives in shared/refmodel beside the checkout or a
// directory above it (worktrees nest deeper).
func refModelDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "refmodel")
		if _, err := os.Stat(filepath.Join(p, "reel_tiny.py")); err == nil {
			return p
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Skip("reference model not available: no shared/refmodel/reel_tiny.py beside the checkout or above it")
		}
		dir = up
	}
}

// needTorch skips (or, with REEL_VIDEO_REQUIRE_TOOLS set, fails) when
// /usr/bin/python3 cannot import torch.
func needTorch(t *testing.T) {
	t.Helper()
	tooltest.NeedPython(t, "torch, numpy")
}

func f32Tensor(name string, v []float32, shape ...int) safetensors.Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return safetensors.Tensor{Name: name, DType: safetensors.F32, Shape: shape, Data: b}
}

// TestTranscriptionMatchesPyTorch runs known-frame sampling and strength
// sampling (20 steps each), windowed sampling (10 steps) and the DiT and VAE at
// 96×64 in Go and in testdata/guided_reference.py on the reference model,
// from the same noise, and requires relative errors ≤ 1e-3 for the samples
// (the bound), 1e-4 for the velocity and 1e-5 for the video (the
// reference tests' bounds). Both sides run the BF16 DiT widened to float32.
func TestTranscriptionMatchesPyTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PyTorch; skipped in -short mode")
	}
	ref := refModelDir(t)
	needTorch(t)
	e := engineF32(t)
	ctx := context.Background()
	const (
		steps    = 20
		wsteps   = 10 // windows: two windows of 12 latent frames, so fewer steps keep PyTorch's time down
		strength = 0.6
		prompt   = "a red circle moving right"
		remix    = "a blue circle moving right"
	)
	win := Windowing{Frames: 48, Overlap: 16, Anchor: DefaultAnchor}
	noise := Noise(11, 8*8*64)
	init := vector(t, "sample.latent") // a real latent [8, 8, 8, 8]
	fixed := []bool{true, true, true, true, false, false, false, false}
	fixedF := make([]float32, len(fixed))
	for i, f := range fixed {
		if f {
			fixedF[i] = 1
		}
	}
	wnoise := Noise(12, 8*16*64)
	wide, err := Load(Options{DiTPath: bf16DiTPath, Width: 96, Height: 64})
	if err != nil {
		t.Fatal(err)
	}
	wideZ, wideSigma := Noise(13, 8*4*8*12), float32(0.7)

	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.safetensors"), filepath.Join(dir, "out.safetensors")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	err = safetensors.Write(f, []safetensors.Tensor{
		f32Tensor("noise", noise, 8, 8, 8, 8), f32Tensor("init", init, 8, 8, 8, 8), f32Tensor("known", init, 8, 8, 8, 8),
		f32Tensor("fixed", fixedF, 8), f32Tensor("wnoise", wnoise, 8, 16, 8, 8),
		f32Tensor("wide.z", wideZ, 8, 4, 8, 12), f32Tensor("wide.sigma", []float32{wideSigma}, 1),
	}, map[string]string{
		"prompt": prompt, "remix_prompt": remix, "steps": strconv.Itoa(steps), "window_steps": strconv.Itoa(wsteps), "guidance": "5", "shift": "3",
		"strength": strconv.FormatFloat(strength, 'g', -1, 64),
		"window":   strconv.Itoa(e.Config().LatentFrames(win.Frames)), "overlap": strconv.Itoa(e.Config().LatentFrames(win.Overlap)),
		"anchor": strconv.FormatFloat(win.Anchor, 'g', -1, 64),
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, python, "testdata/guided_reference.py", ref, in, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("guided_reference.py: %v\n%s", err, b)
	}
	res, err := safetensors.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := func(name string) []float32 {
		tn, ok := res.Get(name)
		if !ok {
			t.Fatalf("PyTorch output lacks %s", name)
		}
		v, err := tn.Float32()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	red, blue := embeddings(t, e, prompt, ""), embeddings(t, e, remix)[0]
	p := SampleParams{Frames: 32, Steps: steps, Guidance: 5, Shift: 3, Guide: &Guide{Known: init, Fixed: fixed}}
	known, err := e.SampleFrom(ctx, red[0], red[1], noise, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Guide = &Guide{Init: init, Strength: strength}
	remixed, err := e.SampleFrom(ctx, blue, red[1], noise, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	// SampleWindows draws its noise from the seed; hand it the same noise
	// by seed.
	windowed, err := e.windowsLatent(ctx, red[0], red[1], SampleParams{Frames: 64, Steps: wsteps, Guidance: 5, Shift: 3, Seed: 12}, win, nil)
	if err != nil {
		t.Fatal(err)
	}
	wemb := embeddings(t, wide, prompt)[0]
	v := wide.velocity(wideZ, 4, wideSigma, wemb)
	vid, err := wide.DecodeChunk(ctx, wideZ)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got       []float32
		tolerance float64
	}{
		{"known.latent", known, 1e-3},
		{"strength.latent", remixed, 1e-3},
		{"windows.latent", windowed, 1e-3},
		{"wide.v", v, 1e-4},
		{"wide.video", vid, 1e-5},
	} {
		r := relErr(c.got, want(c.name))
		t.Logf("%s: rel err %.3g", c.name, r)
		if !(r <= c.tolerance) {
			t.Errorf("%s: rel err %.3g > %g", c.name, r, c.tolerance)
		}
	}
}
