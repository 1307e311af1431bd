package model

import (
	"context"
	"errors"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/model/weights"
)

// TestLoadSomeModels: an engine loads only the models it is asked for
// (Describe: none).
// What it loaded computes exactly what the whole engine computes, a call
// into a model it did not load fails with ErrNotLoaded naming the model,
// and its manifest describes the same checkpoint set (digest, geometry,
// FP8) while counting only the loaded models' memory.
func TestLoadSomeModels(t *testing.T) {
	ctx := context.Background()
	whole := fp8(t)
	emb := embeddings(t, whole, "a red circle moving right", "")
	p := SampleParams{Frames: 16, Steps: 2, Guidance: 5, Shift: 3, Seed: 4}
	lat, err := whole.Sample(ctx, emb[0], emb[1], p, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantVid, err := whole.DecodeChunk(ctx, lat)
	if err != nil {
		t.Fatal(err)
	}
	wm := whole.Manifest()

	calls := map[protocol.Model]func(e *Engine) error{
		protocol.ModelText: func(e *Engine) error {
			got, err := e.EncodeText(ctx, "a red circle moving right")
			if err == nil && !slices.Equal(got.Hidden, emb[0].Hidden) {
				t.Error("the text encoder alone encodes otherwise")
			}
			return err
		},
		protocol.ModelDiT: func(e *Engine) error {
			got, err := e.Sample(ctx, emb[0], emb[1], p, nil)
			if err == nil && !slices.Equal(got, lat) {
				t.Error("the DiT alone samples otherwise")
			}
			return err
		},
		protocol.ModelVAE: func(e *Engine) error {
			got, err := e.DecodeChunk(ctx, lat)
			if err == nil && !slices.Equal(got, wantVid) {
				t.Error("the VAE alone decodes otherwise")
			}
			return err
		},
	}
	resident := func(m protocol.Manifest, which protocol.Model) (int64, int64) {
		switch which {
		case protocol.ModelText:
			return m.Resident.Text, m.Files.Text
		case protocol.ModelDiT:
			return m.Resident.DiT, m.Files.DiT
		}
		return m.Resident.VAE, m.Files.VAE
	}
	for _, models := range [][]protocol.Model{{protocol.ModelVAE}, {protocol.ModelText, protocol.ModelDiT}, {protocol.ModelDiT}} {
		e, err := Load(Options{Models: models})
		if err != nil {
			t.Fatalf("%v: %v", models, err)
		}
		m := e.Manifest()
		if err := m.Validate(); err != nil {
			t.Errorf("%v: manifest: %v", models, err)
		}
		if m.Digest != wm.Digest || m.Model != wm.Model || m.Width != wm.Width || m.FP8 != wm.FP8 || e.DiTFP8() != whole.DiTFP8() {
			t.Errorf("%v: manifest %s %s %d fp8 %v, the whole engine's %s %s %d fp8 %v", models,
				m.Digest, m.Model, m.Width, m.FP8, wm.Digest, wm.Model, wm.Width, wm.FP8)
		}
		for _, which := range protocol.Models() {
			loaded := slices.Contains(models, which)
			if e.Loaded(which) != loaded {
				t.Errorf("%v: Loaded(%s) = %v", models, which, !loaded)
			}
			res, files := resident(m, which)
			wres, wfiles := resident(wm, which)
			if loaded && (res != wres || files != wfiles) || !loaded && (res != 0 || files != 0) {
				t.Errorf("%v: %s resident %d, files %d; the whole engine's %d, %d", models, which, res, files, wres, wfiles)
			}
			err := calls[which](e)
			switch {
			case loaded && err != nil:
				t.Errorf("%v: %s: %v", models, which, err)
			case !loaded && (!errors.Is(err, ErrNotLoaded) || !strings.Contains(err.Error(), string(which))):
				t.Errorf("%v: a call into the %s model: err %v, want ErrNotLoaded naming it", models, which, err)
			}
		}
	}

	// Describe: the manifest, no model loaded.
	d, err := Describe(Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := wm
	want.Resident, want.Files = protocol.ManifestBytes{}, protocol.ManifestBytes{}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("Describe:\n%+v\nwant the engine's manifest without sizes:\n%+v", d, want)
	}
	if d, err := Describe(Options{Width: 96, Height: 64}); err != nil || d.Width != 96 || d.LatentWidth != 12 {
		t.Errorf("Describe at 96x64: %+v, %v", d, err)
	}

	for _, bad := range [][]protocol.Model{{"unet"}, {protocol.ModelVAE, protocol.ModelVAE}} {
		if _, err := Load(Options{Models: bad}); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "model") {
			t.Errorf("Models %v: err %v, want ErrInput naming the model", bad, err)
		}
	}
}

// TestLoadSomeModelsFromFiles: a checkpoint file whose model is not loaded
// is streamed into the digest, never held: an engine loading the VAE next
// to a float32 DiT file allocates less than that file's size, and reports
// the digest of all three files.
func TestLoadSomeModelsFromFiles(t *testing.T) {
	dit, err := os.ReadFile(bf16DiTPath)
	if err != nil {
		t.Fatal(err)
	}
	vae := []protocol.Model{protocol.ModelVAE}
	load := func(o Options) (*Engine, uint64) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		e, err := Load(o)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		return e, after.TotalAlloc - before.TotalAlloc
	}
	_, builtIn := load(Options{Models: vae})
	e, fromFile := load(Options{DiTPath: bf16DiTPath, Models: vae})
	if extra := int64(fromFile) - int64(builtIn); extra > int64(len(dit))/4 {
		t.Errorf("loading the VAE next to a DiT file allocated %d bytes more than next to the built-in DiT; the file is %d", extra, len(dit))
	}
	m := e.Manifest()
	if want := protocol.WeightsDigest(weights.Text(), dit, weights.VAE()); m.Digest != want {
		t.Errorf("digest %s, want the three files' %s", m.Digest, want)
	}
	if m.FP8 || e.DiTFP8() {
		t.Error("a BF16 DiT file described as FP8")
	}
	if d, err := Describe(Options{DiTPath: bf16DiTPath}); err != nil || d.Digest != m.Digest {
		t.Errorf("Describe: digest %s, %v; want %s", d.Digest, err, m.Digest)
	}
	if _, err := Load(Options{DiTPath: "missing.safetensors", Models: []protocol.Model{protocol.ModelVAE}}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing DiT file not loaded: err %v, want ErrNotExist", err)
	}
}
