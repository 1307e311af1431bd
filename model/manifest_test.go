package model

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"runtime"
	"testing"

	"github.com/reel-video/reel/model/weights"
)

// TestManifest: the manifest's digest is the weight files', its sizes are
// the loaded weights' (the DiT's counted storage, the heap Load keeps), and
// its geometry is the config's.
func TestManifest(t *testing.T) {
	bf16, err := os.ReadFile(bf16DiTPath)
	if err != nil {
		t.Fatal(err)
	}
	digest := func(parts ...[]byte) string {
		h := sha256.New()
		for _, p := range parts {
			h.Write(p)
		}
		return "sha256:" + hex.EncodeToString(h.Sum(nil))
	}
	for _, tc := range []struct {
		name   string
		e      *Engine
		dit    []byte
		fp8    bool
		digest string
	}{
		{"built-in FP8", fp8(t), weights.DiT(), true, digest(weights.Text(), weights.DiT(), weights.VAE())},
		{"BF16 DiT as float32", engineF32(t), bf16, false, digest(weights.Text(), bf16, weights.VAE())},
	} {
		m := tc.e.Manifest()
		if err := m.Validate(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c := tc.e.Config()
		if m.Model != "reel-tiny" || m.Checkpoint != "reel-tiny" || m.Digest != tc.digest || m.FP8 != tc.fp8 {
			t.Errorf("%s: model %q checkpoint %q digest %s fp8 %v, want reel-tiny, %s, %v", tc.name, m.Model, m.Checkpoint, m.Digest, m.FP8, tc.digest, tc.fp8)
		}
		if m.Width != c.Width || m.Height != c.Height || m.FPS != c.FPS || m.LatentChannels != c.LatentChannels ||
			m.LatentHeight != 8 || m.LatentWidth != 8 || m.FramesPerChunk != 16 || m.LatentFramesPerChunk != 4 ||
			m.TextLength != c.TextMaxLen || m.TextDim != c.TextDim || m.WindowFrames != 48 || m.OverlapFrames != 32 {
			t.Errorf("%s: geometry %+v", tc.name, m)
		}
		if d := DefaultSampleParams(); m.Defaults.Frames != d.Frames || m.Defaults.Steps != d.Steps ||
			m.Defaults.Guidance != d.Guidance || m.Defaults.Shift != d.Shift {
			t.Errorf("%s: defaults %+v", tc.name, m.Defaults)
		}
		if got := m.Resident.DiT; got != int64(tc.e.dit.weightBytes()) {
			t.Errorf("%s: resident DiT %d, counted storage %d", tc.name, got, tc.e.dit.weightBytes())
		}
		if m.Files.Text != int64(len(weights.Text())) || m.Files.DiT != int64(len(tc.dit)) || m.Files.VAE != int64(len(weights.VAE())) {
			t.Errorf("%s: files %+v", tc.name, m.Files)
		}
		if m.Resident.Text <= 0 || m.Resident.VAE <= 0 {
			t.Errorf("%s: resident %+v", tc.name, m.Resident)
		}
	}
}

// TestManifestResidentIsTheHeap: the resident sizes add up to what Load
// keeps on the heap (measured after GC), within 5%: a weight the ledger
// missed, or one counted twice, fails it.
func TestManifestResidentIsTheHeap(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	e, err := Load(Options{DiTPath: bf16DiTPath})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(e)
	grew := float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
	total := float64(e.Manifest().Resident.Total())
	t.Logf("resident %+v, total %.2f MB; heap growth %.2f MB", e.Manifest().Resident, total/1e6, grew/1e6)
	if grew < total || grew > 1.05*total {
		t.Errorf("heap growth %.0f bytes, manifest says %.0f", grew, total)
	}
}
