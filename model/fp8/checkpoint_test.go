package fp8

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/reel-video/reel/model/safetensors"
)

// Copies of ../shared/refmodel files, checked in so the test needs nothing
// outside the repository.
const (
	bf16DiT      = "../testdata/reel-tiny.dit.bf16.safetensors"
	fp8Reference = "../testdata/reel-tiny.dit-fp8-reference.safetensors"
)

// The quantized DiT must equal PyTorch's reference quantization byte for
// byte, codes and scales, and keep every other tensor unchanged.
func TestQuantizeCheckpointMatchesPyTorch(t *testing.T) {
	src, err := safetensors.ReadFile(bf16DiT)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := safetensors.ReadFile(fp8Reference)
	if err != nil {
		t.Fatal(err)
	}
	q, err := QuantizeCheckpoint(src)
	if err != nil {
		t.Fatal(err)
	}

	quantized := 0
	for _, want := range ref.Tensors {
		got, ok := q.Get(want.Name)
		if !ok {
			t.Errorf("%s: missing from our output", want.Name)
			continue
		}
		if got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) {
			t.Errorf("%s: %s %v, reference %s %v", want.Name, got.DType, got.Shape, want.DType, want.Shape)
			continue
		}
		if !bytes.Equal(got.Data, want.Data) {
			diff := 0
			for i := range got.Data {
				if got.Data[i] != want.Data[i] {
					diff++
				}
			}
			t.Errorf("%s: %d of %d bytes differ from the reference", want.Name, diff, len(want.Data))
		}
		if want.DType == safetensors.F8_E4M3 {
			quantized++
		}
	}
	if quantized == 0 {
		t.Fatal("reference has no F8_E4M3 tensors")
	}
	// Every other tensor passes through untouched, and nothing extra is
	// quantized: output = source + one scale per reference weight.
	for _, s := range src.Tensors {
		if _, inRef := ref.Get(s.Name); inRef {
			continue
		}
		got, ok := q.Get(s.Name)
		if !ok || got.DType != s.DType || !bytes.Equal(got.Data, s.Data) {
			t.Errorf("%s: not kept as is", s.Name)
		}
	}
	if want := len(src.Tensors) + quantized; len(q.Tensors) != want {
		t.Errorf("%d tensors out, want %d", len(q.Tensors), want)
	}
	if q.Metadata["config"] != src.Metadata["config"] || q.Metadata["quantization"] != Scheme {
		t.Errorf("metadata not carried over: %v", q.Metadata)
	}
	t.Logf("%d weights quantized, %d tensors in the FP8 checkpoint", quantized, len(q.Tensors))
}

func TestQuantizeFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "dit.fp8.safetensors")
	if err := QuantizeFile(bf16DiT, out); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	w, ok := f.Get("dit.blocks.0.fc1.weight")
	if !ok || w.DType != safetensors.F8_E4M3 {
		t.Fatalf("dit.blocks.0.fc1.weight = %+v", w)
	}
	if _, ok := f.Get("dit.blocks.0.fc1.weight_scale"); !ok {
		t.Error("scale tensor missing")
	}
	if st, err := os.Stat(out); err != nil {
		t.Error(err)
	} else if st.Mode().Perm() != 0o644 {
		t.Errorf("output file mode %v, want 0644: a checkpoint must be readable by the stages that load it", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("temporary file left behind: %v", entries)
	}
	if err := QuantizeFile("missing.safetensors", out); err == nil {
		t.Error("QuantizeFile of a missing input succeeded")
	}
}
