package runner_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/model/weights"
	"github.com/reel-video/reel/runner"
)

func TestTorchHello(t *testing.T) {
	e := startTorch(t, nil)
	m := e.Manifest()
	h := sha256.New()
	for _, b := range [][]byte{weights.Text(), weights.DiT(), weights.VAE()} {
		h.Write(b)
	}
	want := protocol.Manifest{Model: "reel-tiny", Checkpoint: "reel-tiny", Digest: "sha256:" + hex.EncodeToString(h.Sum(nil)),
		LatentChannels: 8, LatentHeight: 8, LatentWidth: 8, LatentFramesPerChunk: 4, FramesPerChunk: 16,
		Width: 64, Height: 64, FPS: 8, TextLength: 96, TextDim: 256,
		MaxFrames: 48, WindowFrames: 48, OverlapFrames: 16, MaxSteps: 200, MaxGuidance: 100,
		Defaults: protocol.ManifestDefaults{Frames: 48, Steps: 30, Guidance: 5, Shift: 3},
		Files:    protocol.ManifestBytes{Text: int64(len(weights.Text())), DiT: int64(len(weights.DiT())), VAE: int64(len(weights.VAE()))},
		FP8:      true}
	if m.Resident.DiT <= m.Files.DiT || m.Resident.Text <= 0 || m.Resident.VAE <= 0 {
		t.Errorf("resident %+v: the CPU runner keeps float32 weights, more than the files %+v", m.Resident, m.Files)
	}
	m.Resident = protocol.ManifestBytes{}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("manifest\n%+v\nwant\n%+v", m, want)
	}
	hello := e.Hello()
	if c := hello.Capabilities; c.Device != "cpu" || c.FP8 || c.DType != "float32" {
		t.Errorf("capabilities %+v, want cpu float32 without FP8 GEMMs", c)
	}
	mem, err := e.Health(ctxTimeout(t, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if mem.RSSBytes < 50<<20 {
		t.Errorf("runner RSS %d bytes: not plausible for a loaded torch model", mem.RSSBytes)
	}
}

func TestTorchEncodeTextMatchesGo(t *testing.T) {
	e := startTorch(t, nil)
	g := loadGo(t)
	for _, prompt := range []string{"a red circle moving right", "一个蓝色的正方形向上移动，背景是白色", ""} {
		hidden, mask, err := e.EncodeText(ctxTimeout(t, time.Minute), prompt)
		if err != nil {
			t.Fatal(err)
		}
		want, err := g.EncodeText(context.Background(), prompt)
		if err != nil {
			t.Fatal(err)
		}
		if r := relErr(t, hidden, want.Hidden); r > 1e-5 {
			t.Errorf("%q: hidden relative error %.3g vs the Go engine", prompt, r)
		}
		for i := range mask {
			if mask[i] != want.Mask[i] {
				t.Fatalf("%q: mask differs at %d", prompt, i)
			}
		}
	}
}

// TestTorchSampleDecodeMatchGo runs a 48-frame, 20-step video on both
// engines from the same seed: decode_chunk of the same latent chunk, and
// the whole torch video against the whole Go one, at PSNR ≥ 40 dB.
func TestTorchSampleDecodeMatchGo(t *testing.T) {
	e := startTorch(t, nil)
	g := loadGo(t)
	ctx := ctxTimeout(t, 10*time.Minute)
	p := runner.Params{Frames: 48, Steps: 20, Guidance: 5, Shift: 3, Seed: 7}
	cond, err := g.EncodeText(ctx, "a green triangle moving left on a white background")
	if err != nil {
		t.Fatal(err)
	}
	uncond, err := g.EncodeText(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	lat, err := e.Sample(ctx, runner.Text(*cond), runner.Text(*uncond), p, func(step, total int) {
		if total != p.Steps {
			t.Errorf("progress total %d, want %d", total, p.Steps)
		}
		steps = append(steps, step)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != p.Steps || steps[0] != 1 || steps[len(steps)-1] != p.Steps {
		t.Errorf("progress steps %v, want 1..%d", steps, p.Steps)
	}
	want, err := g.Sample(ctx, cond, uncond, model.SampleParams{Frames: p.Frames, Steps: p.Steps, Guidance: p.Guidance, Shift: p.Shift, Seed: p.Seed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("latent relative error torch vs Go: %.3g", relErr(t, lat, want))
	const T = 12
	for i := 0; i < T/4; i++ {
		goVid, err := g.DecodeChunk(ctx, model.LatentChunk(want, T, i))
		if err != nil {
			t.Fatal(err)
		}
		goPx := model.ToRGB24(goVid)
		samePx, err := e.DecodeChunk(ctx, model.LatentChunk(want, T, i))
		if err != nil {
			t.Fatal(err)
		}
		torchPx, err := e.DecodeChunk(ctx, model.LatentChunk(lat, T, i))
		if err != nil {
			t.Fatal(err)
		}
		same, video := psnr(t, samePx, goPx), psnr(t, torchPx, goPx)
		t.Logf("chunk %d: decode_chunk PSNR %.1f dB, torch video vs Go video %.1f dB", i, same, video)
		if same < 40 || video < 40 {
			t.Errorf("chunk %d: PSNR decode %.1f dB, video %.1f dB; want both ≥ 40", i, same, video)
		}
	}
}

func TestTorchBadInput(t *testing.T) {
	e := startTorch(t, nil)
	ctx := ctxTimeout(t, time.Minute)
	hidden, mask, err := e.EncodeText(ctx, "a red circle")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Sample(ctx, runner.Text{Hidden: hidden, Mask: mask}, runner.Text{}, runner.Params{Frames: 16, Steps: 0, Guidance: 5, Shift: 3}, nil)
	if !errors.Is(err, runner.ErrBadInput) || errors.Is(err, runner.ErrTransient) {
		t.Errorf("steps 0: %v, want ErrBadInput only", err)
	}
	if _, err := e.DecodeChunk(ctx, make([]float32, 10)); !errors.Is(err, runner.ErrBadInput) {
		t.Errorf("short chunk: %v, want ErrBadInput", err)
	}
	if _, _, err := e.EncodeText(ctx, "still serving"); err != nil {
		t.Errorf("after bad input: %v", err)
	}
}
