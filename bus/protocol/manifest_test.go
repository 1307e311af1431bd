package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func validManifest() Manifest {
	return Manifest{
		Model: "reel-tiny", Checkpoint: "reel-tiny", Digest: "sha256:" + strings.Repeat("0a", 32),
		LatentChannels: 8, LatentHeight: 8, LatentWidth: 8, LatentFramesPerChunk: 4, FramesPerChunk: 16,
		Width: 64, Height: 64, FPS: 8, TextLength: 96, TextDim: 256,
		MaxFrames: 768, WindowFrames: 48, OverlapFrames: 16, MaxSteps: 200, MaxGuidance: 100,
		Defaults: ManifestDefaults{Frames: 48, Steps: 30, Guidance: 5, Shift: 3},
		Resident: ManifestBytes{Text: 1, DiT: 2, VAE: 3}, Files: ManifestBytes{Text: 1, DiT: 2, VAE: 3},
	}
}

func TestManifestValidate(t *testing.T) {
	if err := validManifest().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		field string
		edit  func(*Manifest)
	}{
		{"model", func(m *Manifest) { m.Model = "" }},
		{"model", func(m *Manifest) { m.Model = "reel tiny" }},
		{"checkpoint", func(m *Manifest) { m.Checkpoint = "reel-tiny@96x64" }},
		{"digest", func(m *Manifest) { m.Digest = "sha256:abc" }},
		{"digest", func(m *Manifest) { m.Digest = "md5:" + strings.Repeat("0", 64) }},
		{"latent_width", func(m *Manifest) { m.LatentWidth = 0 }},
		{"latent_width", func(m *Manifest) { m.LatentWidth = 12 }},
		{"frames_per_chunk", func(m *Manifest) { m.FramesPerChunk = 18 }},
		{"fps", func(m *Manifest) { m.FPS = -1 }},
		{"max_frames", func(m *Manifest) { m.MaxFrames = 770 }},
		{"window_frames", func(m *Manifest) { m.WindowFrames = 40 }},
		{"overlap_frames", func(m *Manifest) { m.OverlapFrames = 48 }},
		{"overlap_frames", func(m *Manifest) { m.OverlapFrames = -16 }},
		{"defaults.frames", func(m *Manifest) { m.Defaults.Frames = 784 }},
		{"defaults.steps", func(m *Manifest) { m.Defaults.Steps = 201 }},
		{"defaults.guidance", func(m *Manifest) { m.Defaults.Guidance = 101 }},
		{"defaults.shift", func(m *Manifest) { m.Defaults.Shift = 0 }},
		{"resident", func(m *Manifest) { m.Resident.DiT = -1 }},
	} {
		m := validManifest()
		tc.edit(&m)
		err := m.Validate()
		var fe *ManifestFieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, ErrManifest) {
			t.Errorf("%s: err = %v, want a ManifestFieldError for it", tc.field, err)
		}
	}
}

func TestManifestSizes(t *testing.T) {
	m := validManifest()
	m.Width, m.LatentWidth = 96, 12
	for _, tc := range []struct {
		name      string
		got, want int
	}{
		{"Chunks(192)", m.Chunks(192), 12},
		{"LatentFrames(48)", m.LatentFrames(48), 12},
		{"LatentSize(48)", m.LatentSize(48), 8 * 12 * 8 * 12},
		{"ChunkLatentSize", m.ChunkLatentSize(), 8 * 4 * 8 * 12},
		{"FrameBytes", m.FrameBytes(), 3 * 96 * 64},
		{"TextSize", m.TextSize(), 96 * 256},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

// TestManifestJSON pins the wire names (docs/protocol.md).
func TestManifestJSON(t *testing.T) {
	b, err := json.Marshal(validManifest())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"model":`, `"digest":`, `"latent_channels":8`, `"latent_frames_per_chunk":4`,
		`"window_frames":48`, `"overlap_frames":16`, `"defaults":{"frames":48,"steps":30,"guidance":5,"shift":3}`,
		`"resident":{"text":1,"dit":2,"vae":3}`, `"fp8":false`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON %s lacks %s", b, key)
		}
	}
}
