package runner_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
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
	want := protocol.Manifest{Model: "reel-tiny", Checkpoint: "reel-tiny", Digest: protocol.WeightsDigest(weights.Text(), weights.DiT(), weights.VAE()),
		LatentChannels: 8, LatentHeight: 8, LatentWidth: 8, LatentFramesPerChunk: 4, FramesPerChunk: 16,
		Width: 64, Height: 64, FPS: 8, TextLength: 96, TextDim: 256,
		MaxFrames: 768, WindowFrames: 48, OverlapFrames: 32, MaxSteps: 200, MaxGuidance: 100,
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
	if c := hello.Capabilities; c.Device != "cpu" || c.FP8 || c.DType != "float32" || !c.SampleGuide {
		t.Errorf("capabilities %+v, want cpu float32 without FP8 GEMMs, sample taking a guide", c)
	}
	if got, want := m.WindowFrames, loadGo(t).Manifest().WindowFrames; got != want || m.OverlapFrames != loadGo(t).Manifest().OverlapFrames {
		t.Errorf("window %d/%d frames, the Go engine's %d/%d: windows must cut alike", got, m.OverlapFrames, want, loadGo(t).Manifest().OverlapFrames)
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

// TestTorchGuidedWindowsMatchGo samples what only a guide makes possible on
// the runner, the same way as the Go engine (model.SampleWindowsWith, one
// runner sample per window): a 96-frame video as windows (the later ones
// start from known frames and an anchor), an extension (its first chunk
// fixed) and a remix (from an init at strength 0.6). Each is compared with
// the Go engine's own result, decoded by the Go VAE, at PSNR ≥ 40 dB.
func TestTorchGuidedWindowsMatchGo(t *testing.T) {
	e := startTorch(t, nil)
	g := loadGo(t)
	m := e.Manifest()
	ctx := ctxTimeout(t, 10*time.Minute)
	cond, err := g.EncodeText(ctx, "a red circle moving right")
	if err != nil {
		t.Fatal(err)
	}
	uncond, err := g.EncodeText(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	base := model.SampleParams{Frames: 48, Steps: 2, Guidance: 5, Shift: 3, Seed: 3}
	prior, err := g.Sample(ctx, cond, uncond, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	prefix := model.LatentChunk(prior, 12, 0) // an extension of one chunk: the parent's first
	for _, c := range []struct {
		name   string
		frames int
		prefix []float32
		init   []float32
	}{
		{"windows", 96, nil, nil},
		{"extension", 64, prefix, nil},
		{"remix", 48, nil, prior},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := base
			p.Frames = c.frames
			guide, err := model.JobGuide(m, p.Frames, c.prefix, c.init, 0.6)
			if err != nil {
				t.Fatal(err)
			}
			p.Guide = guide
			win, err := model.ResolveWindowing(model.Windowing{}, m)
			if err != nil {
				t.Fatal(err)
			}
			collect := func(run func(emit func(int, []float32) error) error) [][]float32 {
				var chunks [][]float32
				if err := run(func(i int, lat []float32) error {
					if i != len(chunks) {
						t.Fatalf("chunk %d emitted after %d", i, len(chunks))
					}
					chunks = append(chunks, lat)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				return chunks
			}
			windows := 0
			torch := collect(func(emit func(int, []float32) error) error {
				return model.SampleWindowsWith(ctx, m, p, win, func(ctx context.Context, x, eps []float32, gd *model.Guide, stepped func(int, int)) error {
					windows++
					rp := runner.Params{Frames: len(x) / m.ChunkLatentSize() * m.FramesPerChunk, Steps: p.Steps, Guidance: p.Guidance, Shift: p.Shift, Seed: p.Seed}
					lat, err := e.SampleFrom(ctx, runner.Text(*cond), runner.Text(*uncond), eps, rp, gd, stepped)
					copy(x, lat)
					return err
				}, emit, nil)
			})
			goChunks := collect(func(emit func(int, []float32) error) error {
				return g.SampleWindows(ctx, cond, uncond, p, model.Windowing{}, emit, nil)
			})
			if len(torch) != p.Frames/16 || len(goChunks) != len(torch) {
				t.Fatalf("%d torch chunks, %d Go chunks, want %d", len(torch), len(goChunks), p.Frames/16)
			}
			for i := range torch {
				if c.prefix != nil && i == 0 {
					if relErr(t, torch[0], c.prefix) != 0 {
						t.Error("the extension's fixed chunk is not kept exactly")
					}
				}
				a, err := g.DecodeChunk(ctx, torch[i])
				if err != nil {
					t.Fatal(err)
				}
				b, err := g.DecodeChunk(ctx, goChunks[i])
				if err != nil {
					t.Fatal(err)
				}
				if db := psnr(t, model.ToRGB24(a), model.ToRGB24(b)); db < 40 {
					t.Errorf("chunk %d: torch vs Go PSNR %.1f dB, want ≥ 40", i, db)
				} else {
					t.Logf("chunk %d: torch vs Go PSNR %.1f dB (%d windows)", i, db, windows)
				}
			}
		})
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

// TestTorchLoadsTheModelsAsked: a runner told to load the VAE alone
// (hello's models, what a vaedecode stage sends) holds no text encoder or
// DiT, reports the same checkpoint set's digest with only the VAE's sizes,
// decodes as the Go engine does, and answers the calls into the models it
// did not load with bad_input naming them.
func TestTorchLoadsTheModelsAsked(t *testing.T) {
	e := startTorch(t, func(c *runner.Config) { c.Models = []protocol.Model{protocol.ModelVAE} })
	ctx := ctxTimeout(t, time.Minute)
	m := e.Manifest()
	if want := protocol.WeightsDigest(weights.Text(), weights.DiT(), weights.VAE()); m.Digest != want || !m.FP8 {
		t.Errorf("digest %s fp8 %v, want the checkpoint set's %s, fp8", m.Digest, m.FP8, want)
	}
	if m.Resident.Text != 0 || m.Resident.DiT != 0 || m.Files.Text != 0 || m.Files.DiT != 0 ||
		m.Resident.VAE <= 0 || m.Files.VAE != int64(len(weights.VAE())) {
		t.Errorf("resident %+v, files %+v: want the VAE's only", m.Resident, m.Files)
	}
	g := loadGo(t)
	chunk := model.Noise(3, g.Config().LatentSize(16))
	got, err := e.DecodeChunk(ctx, chunk)
	if err != nil {
		t.Fatal(err)
	}
	vid, err := g.DecodeChunk(context.Background(), chunk)
	if err != nil {
		t.Fatal(err)
	}
	want := model.ToRGB24(vid)
	off := 0
	for i := range got {
		if d := int(got[i]) - int(want[i]); d > 1 || d < -1 {
			off++
		}
	}
	if off > len(want)/1000 {
		t.Errorf("%d of %d bytes differ from the Go engine's decode by more than 1", off, len(want))
	}
	if _, _, err := e.EncodeText(ctx, "a red circle"); !errors.Is(err, runner.ErrBadInput) || !strings.Contains(err.Error(), "text") {
		t.Errorf("encode_text on a VAE runner: %v, want bad input naming the text model", err)
	}
	hidden := make([]float32, m.TextLength*m.TextDim)
	mask := make([]bool, m.TextLength)
	mask[0] = true
	if _, err := e.Sample(ctx, runner.Text{Hidden: hidden, Mask: mask}, runner.Text{}, runner.Params{Frames: 16, Steps: 1, Guidance: 5, Shift: 3, Seed: 1}, nil); !errors.Is(err, runner.ErrBadInput) || !strings.Contains(err.Error(), "dit") {
		t.Errorf("sample on a VAE runner: %v, want bad input naming the dit model", err)
	}
}
