package model

import (
	"runtime"
	"testing"

	"github.com/reel-video/reel/model/safetensors"
)

// heapGrowth returns how much live heap load leaves behind, measured with
// runtime.MemStats after forced collections (so the checkpoint's file
// buffer, dropped by load, is not counted), and load's result.
func heapGrowth(t *testing.T, load func() (*dit, error)) (int64, *dit) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := load()
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(m)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc), m
}

// TestFP8DiTMemory measures the resident DiT weights: the embedded FP8
// checkpoint must take ≤ 30% of the same weights loaded as float32 (from
// the BF16 checkpoint).
func TestFP8DiTMemory(t *testing.T) {
	cfg := testConfig(t)
	loader := func(src source) func() (*dit, error) {
		return func() (*dit, error) {
			b, err := src.read()
			if err != nil {
				return nil, err
			}
			f, err := safetensors.Parse(src.name, b)
			if err != nil {
				return nil, err
			}
			return loadDiT(cfg, tensors{file: src.name, f: f})
		}
	}
	f32Bytes, m32 := heapGrowth(t, loader(fileSource(bf16DiTPath)))
	fp8Bytes, m8 := heapGrowth(t, loader(embeddedSources().dit))
	if m32.fp8 || !m8.fp8 {
		t.Fatalf("precision: bf16 file fp8=%v, embedded fp8=%v", m32.fp8, m8.fp8)
	}
	ratio := float64(fp8Bytes) / float64(f32Bytes)
	t.Logf("DiT resident weights, measured heap growth: float32 %.2f MB, FP8 %.2f MB, ratio %.1f%% (counted storage: %.2f MB, %.2f MB)",
		float64(f32Bytes)/1e6, float64(fp8Bytes)/1e6, 100*ratio, float64(m32.weightBytes())/1e6, float64(m8.weightBytes())/1e6)
	if f32Bytes < int64(m32.weightBytes()) {
		t.Fatalf("measured float32 growth %d below the %d bytes of storage: measurement broken", f32Bytes, m32.weightBytes())
	}
	if ratio > 0.30 {
		t.Errorf("FP8 DiT weights are %.1f%% of float32, want ≤ 30%%", 100*ratio)
	}
}
