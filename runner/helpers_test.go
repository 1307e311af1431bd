package runner_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/reel-video/reel/internal/tooltest"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/model/videotest"
	"github.com/reel-video/reel/runner"
)

const python = tooltest.Python

// needPython skips unless python has the modules; with
// REEL_VIDEO_REQUIRE_TOOLS=1 it fails instead.
func needPython(t *testing.T, modules string) {
	t.Helper()
	tooltest.NeedPython(t, modules)
}

var goEngine = sync.OnceValues(func() (*model.Engine, error) { return model.Load(model.Options{}) })

func loadGo(t *testing.T) *model.Engine {
	t.Helper()
	e, err := goEngine()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func testLog(t *testing.T) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
}

// startTorch starts the bundled runner on the CPU from the repository's
// sources and the embedded weights.
func startTorch(t *testing.T, tweak func(*runner.Config)) *runner.Engine {
	t.Helper()
	needPython(t, "torch, numpy, msgpack")
	cache := t.TempDir()
	w, err := runner.WriteEmbeddedWeights(cache)
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := runner.TorchCommand(runner.TorchOptions{Python: python, Device: "cpu", CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	cfg := runner.Config{Command: cmd, Weights: w, HelloTimeout: 2 * time.Minute, Log: testLog(t)}
	if tweak != nil {
		tweak(&cfg)
	}
	e, err := runner.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// writeScript writes an executable test runner.
func writeScript(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// psnr of two RGB24 buffers (8-bit peak).
func psnr(t *testing.T, a, b []byte) float64 {
	t.Helper()
	p, err := videotest.PSNR(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// relErr is ‖a−b‖/‖b‖.
func relErr(t *testing.T, a, b []float32) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("relErr: %d vs %d values", len(a), len(b))
	}
	var num, den float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(num / den)
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
