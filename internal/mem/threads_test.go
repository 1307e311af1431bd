package mem

import (
	"runtime"
	"testing"

	"github.com/reel-video/reel/model"
)

// TestThreadsScaleKernelScratch: every kernel goroutine keeps its own
// scratch, so an estimate for a bigger machine carries more of it. At 768
// frames (3072 tokens of head width 64) a goroutine's attention scratch is
// 2·3072·64 packed K/V + 96·3072 scores + 96 floats, plus a 10240-float
// packed panel: 2,793,856 bytes, 15 more of them at 16 threads than at 1.
func TestThreadsScaleKernelScratch(t *testing.T) {
	m, arch := loadedModel(t, model.Options{})
	if got, want := Default(arch).Threads, min(runtime.GOMAXPROCS(0), runtime.NumCPU()); got != want {
		t.Errorf("Default Threads = %d, want the kernel pool's %d", got, want)
	}
	one := Default(arch)
	one.Threads = 1
	many := one
	many.Threads = 16
	if d := many.Denoise(m, 768, 1, 768).Live - one.Denoise(m, 768, 1, 768).Live; d != 15*2_793_856 {
		t.Errorf("denoise 768 frames: 16 threads hold %d bytes more than 1, want %d", d, 15*2_793_856)
	}
}

// A long job is sampled in windows, so its DiT memory is one window's:
// 768 frames need about what 192 do, far less than one 768-frame pass.
func TestDenoiseEstimateIsBoundedByTheWindow(t *testing.T) {
	m, arch := loadedModel(t, model.Options{})
	e := Default(arch)
	short, long, whole := e.Denoise(m, 192, 1, 0), e.Denoise(m, 768, 1, 0), e.Denoise(m, 768, 1, 768)
	if r := float64(long.Live) / float64(short.Live); r > 1.25 {
		t.Errorf("denoise 768 frames holds %.2f× what 192 do (want ≤ 1.25: one window each)", r)
	}
	if long.Live*2 > whole.Live {
		t.Errorf("windowed 768 frames %d bytes, one pass %d: windows should need far less", long.Live, whole.Live)
	}
}
