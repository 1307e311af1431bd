package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/model/weights"
)

// TestQuantizeReproducesBuiltInDiT: `reel quantize` on the BF16 checkpoint
// writes exactly the FP8 DiT built into the binary.
func TestQuantizeReproducesBuiltInDiT(t *testing.T) {
	out := filepath.Join(t.TempDir(), "dit.fp8.safetensors")
	_, stderr, code := run(t, bustest.Ctx(t, time.Minute), "quantize", "../../model/testdata/reel-tiny.dit.bf16.safetensors", out)
	if code != 0 {
		t.Fatalf("quantize exited %d: %s", code, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, weights.DiT()) {
		t.Fatalf("quantized DiT (%d bytes) differs from the built-in one (%d bytes)", len(got), len(weights.DiT()))
	}
}

// TestWeightsFlagLoadsOtherFile: --dit names another checkpoint; a missing
// file is refused with its name rather than silently using the built-in one.
func TestWeightsFlagLoadsOtherFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.safetensors")
	_, stderr, code := run(t, bustest.Ctx(t, time.Minute), "generate", "a red circle moving right",
		"--data", t.TempDir(), "--frames", "16", "--steps", "1", "--dit", missing, "-o", filepath.Join(t.TempDir(), "x.mp4"))
	if code == 0 {
		t.Fatal("generate with a missing --dit succeeded")
	}
	if !bytes.Contains([]byte(stderr), []byte("nope.safetensors")) {
		t.Fatalf("error does not name the file: %s", stderr)
	}
}

// TestGPUMemBudgetNeedsAGPU: a GPU memory budget on a stage that has no GPU
// pinned (CPU machine, or CUDA_VISIBLE_DEVICES hiding every device) is a
// configuration error, not silently ignored.
func TestGPUMemBudgetNeedsAGPU(t *testing.T) {
	dir := t.TempDir()
	_, url := start(t, true, "server", "--port", "-1", "--data", filepath.Join(dir, "data"), "--log-format", "json")
	t.Setenv("CUDA_VISIBLE_DEVICES", "-1")
	_, stderr, code := run(t, bustest.Ctx(t, time.Minute), "stage", "textenc", "--nats", url, "--gpu-mem-budget", "1GiB", "--log-format", "json")
	if code == 0 || !bytes.Contains([]byte(stderr), []byte("no GPU is pinned")) {
		t.Fatalf("stage with --gpu-mem-budget and no GPU: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestEncodeDefaultsRefusedAtStartup: bad encode-stage defaults stop the
// process before it takes work, naming the setting, instead of failing every
// job later.
func TestEncodeDefaultsRefusedAtStartup(t *testing.T) {
	for _, args := range [][]string{
		{"stage", "encode", "--crf", "99", "--nats", "nats://127.0.0.1:1"},
		{"stage", "encode", "--codec", "vp9", "--nats", "nats://127.0.0.1:1"},
		{"server", "--port", "-1", "--seam-blend", "0.9", "--data", t.TempDir()},
	} {
		_, stderr, code := run(t, bustest.Ctx(t, time.Minute), args...)
		if code == 0 || !bytes.Contains([]byte(stderr), []byte("encode defaults")) {
			t.Errorf("reel %v: exit %d, stderr %s", args, code, stderr)
		}
	}
}
