package mem

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/model/weights"
)

// bf16Path is the reference BF16 DiT checkpoint (loaded as float32).
func bf16Path() string {
	return filepath.Join(repoRoot(), "model", "testdata", "reel-tiny.dit.bf16.safetensors")
}

// archOf is the estimator's view of a model config (what the engine
// adapter in stages/pipeline hands it; mem cannot import pipeline).
func archOf(c model.Config) Arch {
	a := Arch{DiTDim: c.DiTDim, DiTLayers: c.DiTLayers, DiTHeads: c.DiTHeads, PatchSide: c.Patch[len(c.Patch)-1]}
	copy(a.VAEChannels[:], c.VAEChannels)
	return a
}

// loadedModel loads the engine with opts in this process and returns its
// manifest and arch: what a stage's estimator works from.
//
// Until model.Engine.Manifest lands (engine branch), the manifest's weight
// sizes are measured here as model.Load does there: the resident weights
// are the live heap Load keeps (after a GC), the files their checkpoints'
// sizes.
func loadedModel(t testing.TB, opts model.Options) (protocol.Manifest, Arch) {
	t.Helper()
	before := liveHeap()
	e, err := model.Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	kept := liveHeap() - before
	runtime.KeepAlive(e)
	c := e.Config()
	dit := int64(len(weights.DiT()))
	if opts.DiTPath != "" {
		st, err := os.Stat(opts.DiTPath)
		if err != nil {
			t.Fatal(err)
		}
		dit = st.Size()
	}
	m := protocol.Manifest{
		Model: c.Name, Checkpoint: c.Name,
		LatentChannels: c.LatentChannels, LatentHeight: c.Height / c.SpatialCompression, LatentWidth: c.Width / c.SpatialCompression,
		LatentFramesPerChunk: c.LatentFramesPerChunk, FramesPerChunk: c.FramesPerChunk,
		Width: c.Width, Height: c.Height, FPS: c.FPS, TextLength: c.TextMaxLen, TextDim: c.TextDim,
		Resident: protocol.ManifestBytes{DiT: kept},
		Files:    protocol.ManifestBytes{Text: int64(len(weights.Text())), DiT: dit, VAE: int64(len(weights.VAE()))},
		FP8:      e.DiTFP8(),
	}
	return m, archOf(c)
}

func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
