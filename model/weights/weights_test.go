package weights

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reel-video/reel/model/safetensors"
	"github.com/reel-video/reel/model/weights/internal/build"
)

// Repository copies of the reference checkpoints (model/testdata), and the
// shared reference directory, which only the text/VAE regeneration checks
// use and skip without.
const (
	testdataDiT  = "../testdata/" + build.RefDiT
	testdataFP8  = "../testdata/reel-tiny.dit-fp8-reference.safetensors"
	refmodelPath = "../../../shared/refmodel"
)

func parse(t *testing.T, name string, b []byte) *safetensors.File {
	t.Helper()
	f, err := safetensors.Parse(name, b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestEmbeddedFiles(t *testing.T) {
	dit := parse(t, build.DiTFile, DiT())
	text := parse(t, build.TextFile, Text())
	vae := parse(t, build.VAEFile, VAE())

	cfg := dit.Metadata["config"]
	if !strings.Contains(cfg, `"name": "reel-tiny"`) {
		t.Fatalf("DiT config metadata missing or wrong: %q", cfg)
	}
	for name, f := range map[string]*safetensors.File{"text": text, "vae": vae} {
		if f.Metadata["config"] != cfg {
			t.Errorf("%s config metadata differs from the DiT's", name)
		}
	}

	fp8, scales := 0, 0
	for _, tn := range dit.Tensors {
		switch {
		case !strings.HasPrefix(tn.Name, "dit."):
			t.Errorf("DiT has foreign tensor %q", tn.Name)
		case tn.DType == safetensors.F8_E4M3:
			fp8++
			if !strings.HasPrefix(tn.Name, "dit.blocks.") || len(tn.Shape) != 2 {
				t.Errorf("unexpected FP8 tensor %q %v", tn.Name, tn.Shape)
			}
			s, ok := dit.Get(tn.Name + "_scale")
			if !ok || s.DType != safetensors.F32 || len(s.Shape) != 1 || s.Shape[0] != tn.Shape[0] {
				t.Errorf("%s: scale missing or wrong: %+v", tn.Name, s)
			}
		case strings.HasSuffix(tn.Name, ".weight_scale"):
			scales++
		case tn.DType != safetensors.BF16:
			t.Errorf("DiT tensor %q is %s, want BF16", tn.Name, tn.DType)
		}
	}
	if fp8 != 42 || scales != 42 {
		t.Errorf("%d FP8 weights and %d scales, want 42 each (6 blocks × 7 linears)", fp8, scales)
	}

	for _, tn := range text.Tensors {
		if !strings.HasPrefix(tn.Name, "text.") || tn.DType != safetensors.BF16 {
			t.Errorf("text tensor %q %s", tn.Name, tn.DType)
		}
	}

	decoder := 0
	for _, tn := range vae.Tensors {
		switch {
		case strings.HasPrefix(tn.Name, "vae.decoder."):
			decoder++
		case tn.Name == "vae.latent_mean" || tn.Name == "vae.latent_std":
			if tn.DType != safetensors.F32 || len(tn.Shape) != 1 || tn.Shape[0] != 8 {
				t.Errorf("%s: %s %v, want F32 [8]", tn.Name, tn.DType, tn.Shape)
			}
		default:
			t.Errorf("VAE file has non-decoder tensor %q", tn.Name)
		}
	}
	if decoder == 0 {
		t.Error("VAE file has no decoder tensors")
	}
}

// The embedded DiT must be exactly what the quantizer makes of the BF16
// checkpoint in model/testdata: run `go generate ./model/weights/` if not.
func TestDiTIsUpToDate(t *testing.T) {
	src, err := os.ReadFile(testdataDiT)
	if err != nil {
		t.Fatal(err)
	}
	want, err := build.DiT(src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(DiT(), want) {
		t.Fatal("embedded dit.fp8.safetensors differs from re-quantizing the BF16 DiT; run go generate ./model/weights/")
	}
}

// Every FP8 tensor of the embedded DiT equals PyTorch's reference bytes.
func TestDiTMatchesPyTorchReference(t *testing.T) {
	b, err := os.ReadFile(testdataFP8)
	if err != nil {
		t.Fatal(err)
	}
	ref := parse(t, testdataFP8, b)
	dit := parse(t, build.DiTFile, DiT())
	for _, want := range ref.Tensors {
		got, ok := dit.Get(want.Name)
		if !ok || got.DType != want.DType || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("%s differs from the PyTorch reference", want.Name)
		}
	}
}

// Text and VAE are derived from ../shared/refmodel, which only exists in
// the development workspace; elsewhere the check is skipped.
func TestTextAndVAEAreUpToDate(t *testing.T) {
	tests := []struct {
		ref      string
		f        func([]byte) ([]byte, error)
		embedded []byte
	}{
		{build.RefText, build.Text, Text()},
		{build.RefVAE, build.VAE, VAE()},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(refmodelPath, tc.ref))
			if err != nil {
				t.Skipf("reference checkpoint not available (%v)", err)
			}
			want, err := tc.f(src)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tc.embedded, want) {
				t.Fatal("embedded file differs from the one derived from the reference; run go generate ./model/weights/")
			}
		})
	}
}
