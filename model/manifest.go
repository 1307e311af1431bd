package model

import (
	"fmt"

	"github.com/reel-video/reel/bus/protocol"
)

// What the engine supports beyond the checkpoint's config. The defaults
// are DefaultSampleParams'.
const (
	// trainedWindowFrames is the clip length reel-tiny was trained on
	// (reel_tiny.py train --chunks 3): 48 frames, 12 latent frames. Longer
	// videos are sampled as windows of this length (SampleWindows).
	trainedWindowFrames = 3 * framesPerChunk
	// The engine serves everything the wire protocol lets a job ask for:
	// windowed sampling keeps memory flat in the length, so the limits are
	// the protocol's (which bound time), not the model's.
	maxFrames   = protocol.MaxFrames
	maxSteps    = protocol.MaxSteps
	maxGuidance = protocol.MaxGuidance
)

// manifestFacts are the parts of the Manifest that only loading knows.
type manifestFacts struct {
	digest    string
	resident  [3]int64 // text encoder, DiT, VAE weights as loaded (0: not loaded)
	fileBytes [3]int64 // their checkpoint files (0: not loaded)
}

// Manifest describes the model this engine serves (see protocol.Manifest):
// geometry from the config it runs (frame size and fps as Options chose),
// the weights' digest and resident sizes measured at Load.
func (e *Engine) Manifest() protocol.Manifest {
	c, d, w := e.cfg, DefaultSampleParams(), e.DefaultWindowing()
	id := c.Name
	if c.Width != e.ckpt.Width || c.Height != e.ckpt.Height {
		id = fmt.Sprintf("%s@%dx%d", c.Name, c.Width, c.Height)
	}
	f := e.manifest
	return protocol.Manifest{
		Model:                id,
		Checkpoint:           c.Name,
		Digest:               f.digest,
		LatentChannels:       c.LatentChannels,
		LatentHeight:         c.LatentHeight(),
		LatentWidth:          c.LatentWidth(),
		LatentFramesPerChunk: c.LatentFramesPerChunk,
		FramesPerChunk:       c.FramesPerChunk,
		Width:                c.Width,
		Height:               c.Height,
		FPS:                  c.FPS,
		TextLength:           c.TextMaxLen,
		TextDim:              c.TextDim,
		MaxFrames:            maxFrames,
		WindowFrames:         w.Frames,
		OverlapFrames:        w.Overlap,
		MaxSteps:             maxSteps,
		MaxGuidance:          maxGuidance,
		Defaults:             protocol.ManifestDefaults{Frames: d.Frames, Steps: d.Steps, Guidance: d.Guidance, Shift: d.Shift},
		Resident:             protocol.ManifestBytes{Text: f.resident[0], DiT: f.resident[1], VAE: f.resident[2]},
		Files:                protocol.ManifestBytes{Text: f.fileBytes[0], DiT: f.fileBytes[1], VAE: f.fileBytes[2]},
		FP8:                  e.fp8,
	}
}
