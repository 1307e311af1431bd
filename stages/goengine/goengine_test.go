package goengine_test

import (
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages/goengine"
	"github.com/reel-video/reel/stages/stagetest/fixture"
)

// The defaults a job gets at intake (protocol.DefaultSettings, the CLI's)
// are the ones the engine declares in its manifest: two declarations kept
// equal here until intake reads the manifest (issue 9 §3).
func TestManifestDefaultsAreTheIntakeDefaults(t *testing.T) {
	m := goengine.New(fixture.Engine(t)).Manifest()
	d := protocol.DefaultSettings()
	got := protocol.ManifestDefaults{Frames: d.Frames, Steps: d.Steps, Guidance: d.Guidance, Shift: d.Shift}
	if m.Defaults != got {
		t.Errorf("manifest defaults %+v, intake defaults %+v", m.Defaults, got)
	}
	if m.FramesPerChunk != protocol.FramesPerChunk {
		t.Errorf("manifest frames per chunk %d, protocol %d", m.FramesPerChunk, protocol.FramesPerChunk)
	}
}
