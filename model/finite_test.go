package model_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/model/safetensors"
	"github.com/reel-video/reel/model/weights"
)

// Issue 13 item 9: an FP8 DiT with a NaN code is refused at load, naming
// the tensor (before, it loaded and gave a black video marked succeeded).
func TestNaNFP8WeightsRefused(t *testing.T) {
	b := bytes.Clone(weights.DiT())
	f, err := safetensors.Parse("dit", b)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	for i := range f.Tensors {
		if f.Tensors[i].DType == safetensors.F8_E4M3 {
			f.Tensors[i].Data[3] = 0xff // -NaN in E4M3FN; Data aliases b
			name = f.Tensors[i].Name
			break
		}
	}
	if name == "" {
		t.Fatal("the built-in DiT has no FP8 tensor")
	}
	path := filepath.Join(t.TempDir(), "nan.safetensors")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = model.Load(model.Options{DiTPath: path})
	if !errors.Is(err, model.ErrWeights) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("load: %v", err)
	}
}
