package model

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/reel-video/reel/model/safetensors"
	"github.com/reel-video/reel/model/weights"
)

func fp8(t *testing.T) *Engine {
	t.Helper()
	e, err := fp8Engine()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func embeddings(t *testing.T, e *Engine, prompts ...string) []*TextEmbedding {
	t.Helper()
	var out []*TextEmbedding
	for _, p := range prompts {
		emb, err := e.EncodeText(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, emb)
	}
	return out
}

func TestEngineConfig(t *testing.T) {
	c := fp8(t).Config()
	if c.Height != 64 || c.Width != 64 || c.FPS != 8 || c.FramesPerChunk != 16 || c.LatentFramesPerChunk != 4 {
		t.Errorf("config %+v", c)
	}
	if got := c.LatentFrames(48); got != 12 {
		t.Errorf("LatentFrames(48) = %d", got)
	}
}

func TestSampleCancel(t *testing.T) {
	e := fp8(t)
	emb := embeddings(t, e, "a red circle moving right", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	_, err := e.Sample(ctx, emb[0], emb[1], SampleParams{Frames: 16, Steps: 10, Guidance: 5, Shift: 3, Seed: 1},
		func(step, total int) {
			calls++
			if step == 2 {
				cancel()
			}
		})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if calls != 2 {
		t.Errorf("%d steps ran after cancel at step 2", calls-2)
	}
	if _, err := e.EncodeText(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("EncodeText on a cancelled ctx: %v", err)
	}
	if _, err := e.DecodeChunk(ctx, make([]float32, 8*4*64)); !errors.Is(err, context.Canceled) {
		t.Errorf("DecodeChunk on a cancelled ctx: %v", err)
	}
}

// TestSampleSeed: the same seed gives the same latent, another seed another
// one, and embeddings are reusable across calls (replay).
func TestSampleSeed(t *testing.T) {
	e := fp8(t)
	emb := embeddings(t, e, "a blue square moving up", "")
	ctx := context.Background()
	run := func(seed int64, uncond *TextEmbedding) []float32 {
		lat, err := e.Sample(ctx, emb[0], uncond, SampleParams{Frames: 16, Steps: 2, Guidance: 5, Shift: 3, Seed: seed}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(lat) != 8*4*64 {
			t.Fatalf("latent has %d values", len(lat))
		}
		return lat
	}
	a, b, c := run(5, emb[1]), run(5, emb[1]), run(6, emb[1])
	if !slices.Equal(a, b) {
		t.Error("same seed, different latents")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds, same latent")
	}
	if slices.Equal(a, run(5, nil)) {
		t.Error("guidance off gave the guided latent")
	}
}

func TestSampleRejects(t *testing.T) {
	e := fp8(t)
	emb := embeddings(t, e, "x")[0]
	ok := SampleParams{Frames: 16, Steps: 1, Guidance: 5, Shift: 3}
	for _, tc := range []struct {
		name string
		p    SampleParams
		cond *TextEmbedding
	}{
		{"frames 0", SampleParams{Frames: 0, Steps: 1, Shift: 3}, emb},
		{"frames 40", SampleParams{Frames: 40, Steps: 1, Shift: 3}, emb},
		{"steps 0", SampleParams{Frames: 16, Steps: 0, Shift: 3}, emb},
		{"shift 0", SampleParams{Frames: 16, Steps: 1, Shift: 0}, emb},
		{"shift +Inf", SampleParams{Frames: 16, Steps: 1, Shift: math.Inf(1)}, emb},
		{"guidance NaN", SampleParams{Frames: 16, Steps: 1, Shift: 3, Guidance: math.NaN()}, emb},
		{"guidance -Inf", SampleParams{Frames: 16, Steps: 1, Shift: 3, Guidance: math.Inf(-1)}, emb},
		{"nil prompt", ok, nil},
		{"short hidden", ok, &TextEmbedding{Hidden: emb.Hidden[:10], Mask: emb.Mask}},
		{"all masked", ok, &TextEmbedding{Hidden: emb.Hidden, Mask: make([]bool, len(emb.Mask))}},
	} {
		if _, err := e.Sample(context.Background(), tc.cond, nil, tc.p, nil); !errors.Is(err, ErrInput) {
			t.Errorf("%s: err = %v, want ErrInput", tc.name, err)
		}
	}
	if _, err := e.DecodeChunk(context.Background(), make([]float32, 10)); !errors.Is(err, ErrInput) {
		t.Errorf("DecodeChunk of a short chunk: %v", err)
	}
}

func TestToRGB24(t *testing.T) {
	// One frame of 1×2 pixels: R = {-2, 1}, G = {0, 0.5}, B = {-1, 1.5}.
	got := ToRGB24([]float32{-2, 1, 0, 0.5, -1, 1.5})
	// 0 → 127.5 rounds to even 128; 0.5 → 191.25 → 191.
	want := []byte{0, 128, 0, 255, 191, 255}
	if !slices.Equal(got, want) {
		t.Errorf("ToRGB24 = %v, want %v", got, want)
	}
	// x = −0.2 gives 101.99999 in float32 → 102; and 1/127.5−1 → exactly 1.
	for _, tc := range []struct {
		x    float32
		want byte
	}{{-0.2, 102}, {1.0/127.5 - 1, 1}, {-1.0 / 255, 127}} {
		if got := ToRGB24([]float32{tc.x, tc.x, tc.x}); got[0] != tc.want {
			t.Errorf("ToRGB24(%v) = %d, want %d", tc.x, got[0], tc.want)
		}
	}
}

func TestParseConfigRejects(t *testing.T) {
	good := `"name": "reel-tiny", "height": 64, "width": 64, "fps": 8, "frames_per_chunk": 16, "latent_frames_per_chunk": 4, "latent_channels": 8, "spatial_compression": 8, "temporal_compression": 4, "text_vocab": 259, "text_max_len": 96, "text_dim": 256, "text_layers": 4, "text_heads": 4, "text_bos": 256, "text_eos": 257, "text_pad": 258, "dit_dim": 256, "dit_layers": 6, "dit_heads": 4, "patch": [1, 2, 2], "rope_split": [32, 16, 16], "rope_base": 10000.0, "norm_eps": 1e-06, "vae_channels": [128, 64, 32, 16]`
	if _, err := ParseConfig("{" + good + "}"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ from, to string }{
		{`"latent_channels": 8`, `"latent_channels": 4`},
		{`"rope_split": [32, 16, 16]`, `"rope_split": [32, 16, 8]`},
		{`"rope_split": [32, 16, 16]`, `"rope_split": [31, 17, 16]`},
		{`"dit_heads": 4`, `"dit_heads": 3`},
		{`"patch": [1, 2, 2]`, `"patch": [2, 2, 2]`},
		{`"text_pad": 258`, `"text_pad": 259`},
		{`"height": 64`, `"height": 72`}, // not a multiple of 16 (any multiple runs: see TestFrameSize)
		{`"width": 64`, `"width": 0`},
		{`"spatial_compression": 8`, `"spatial_compression": 16`},
		{`"vae_channels": [128, 64, 32, 16]`, `"vae_channels": [128, 64, 32]`},
		{`"norm_eps": 1e-06`, `"norm_eps": 0`},
		{`"fps": 8`, `"fps": "8"`},
	} {
		s := "{" + strings.Replace(good, tc.from, tc.to, 1) + "}"
		if _, err := ParseConfig(s); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", tc.to, err)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.safetensors")
	if err := os.WriteFile(bad, []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Options{DiTPath: bad}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt file: err = %v, want one naming %s", err, bad)
	}
	if _, err := Load(Options{DiTPath: filepath.Join(dir, "missing")}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
	// The text encoder file given as the DiT: tensors are missing.
	_, err := Load(Options{DiTPath: "../model/weights/text.bf16.safetensors"})
	if !errors.Is(err, ErrWeights) || !strings.Contains(err.Error(), "dit.") {
		t.Errorf("wrong file: err = %v, want ErrWeights naming a dit tensor", err)
	}
}

// TestConcurrentUse: one Engine serves concurrent calls with results
// identical to serial ones (no shared mutable state).
func TestConcurrentUse(t *testing.T) {
	e := fp8(t)
	ctx := context.Background()
	emb := embeddings(t, e, "a purple circle moving left", "")
	p := SampleParams{Frames: 16, Steps: 2, Guidance: 5, Shift: 3, Seed: 9}
	want, err := e.Sample(ctx, emb[0], emb[1], p, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantVid, err := e.DecodeChunk(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			got, err := e.Sample(ctx, emb[0], emb[1], p, nil)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("concurrent Sample differs (err %v)", err)
			}
			vid, err := e.DecodeChunk(ctx, want)
			if err != nil || !slices.Equal(vid, wantVid) {
				t.Errorf("concurrent DecodeChunk differs (err %v)", err)
			}
			if _, err := e.EncodeText(ctx, "x"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// TestLoadPaths: files given by path load with their own precision (an FP8
// DiT file stays FP8), and files whose configs disagree are refused.
func TestLoadPaths(t *testing.T) {
	dir := t.TempDir()
	fp8Path := filepath.Join(dir, "dit.fp8.safetensors")
	if err := os.WriteFile(fp8Path, weights.DiT(), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := Load(Options{DiTPath: fp8Path, TextPath: "weights/text.bf16.safetensors", VAEPath: "weights/vae.bf16.safetensors"})
	if err != nil {
		t.Fatal(err)
	}
	if !e.DiTFP8() {
		t.Error("FP8 DiT file loaded as float32")
	}

	// The text encoder rewritten with another config.
	f, err := safetensors.Parse("text", weights.Text())
	if err != nil {
		t.Fatal(err)
	}
	meta := maps.Clone(f.Metadata)
	meta["config"] = strings.Replace(meta["config"], `"fps": 8`, `"fps": 24`, 1)
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, f.Tensors, meta); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "text.safetensors")
	if err := os.WriteFile(other, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Options{TextPath: other}); !errors.Is(err, ErrConfig) {
		t.Errorf("mismatched configs: err = %v, want ErrConfig", err)
	}
}
