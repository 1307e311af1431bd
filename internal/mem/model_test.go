package mem

import (
	"path/filepath"
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/model"
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

// loadedModel loads the engine with opts and returns its manifest (weight
// sizes measured at Load) and arch: what a stage's estimator works from.
func loadedModel(t testing.TB, opts model.Options) (protocol.Manifest, Arch) {
	t.Helper()
	e, err := model.Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	return e.Manifest(), archOf(e.Config())
}
