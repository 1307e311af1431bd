package protocol

import "fmt"

// Manifest is what an engine declares about the model it serves. Stages,
// intake validation, memory estimates and the encode stage take geometry
// from it, never from literals; workers publish it in their heartbeats and
// a runner process sends it in its hello.
type Manifest struct {
	// Model is the name jobs select it by (settings.model), e.g.
	// "reel-tiny", or "reel-tiny@96x64" for its weights run at another
	// frame size.
	Model string `msgpack:"model" json:"model"`
	// Checkpoint is the name in the weights' config.
	Checkpoint string `msgpack:"checkpoint,omitempty" json:"checkpoint,omitempty"`
	// Digest identifies the weights: "sha256:<hex>" over the files in order.
	Digest string `msgpack:"digest" json:"digest"`

	LatentChannels       int `msgpack:"latent_channels" json:"latent_channels"`
	LatentHeight         int `msgpack:"latent_height" json:"latent_height"`
	LatentWidth          int `msgpack:"latent_width" json:"latent_width"`
	LatentFramesPerChunk int `msgpack:"latent_frames_per_chunk" json:"latent_frames_per_chunk"`
	FramesPerChunk       int `msgpack:"frames_per_chunk" json:"frames_per_chunk"`
	Width                int `msgpack:"width" json:"width"`
	Height               int `msgpack:"height" json:"height"`
	FPS                  int `msgpack:"fps" json:"fps"`
	TextLength           int `msgpack:"text_length" json:"text_length"`
	TextDim              int `msgpack:"text_dim" json:"text_dim"`

	// MaxFrames is the longest job, a multiple of FramesPerChunk.
	MaxFrames int `msgpack:"max_frames" json:"max_frames"`
	// WindowFrames is the clip length the model was trained on; longer
	// jobs are denoised as overlapping windows of this length.
	WindowFrames int `msgpack:"window_frames" json:"window_frames"`
	// OverlapFrames is the default overlap between windows.
	OverlapFrames int     `msgpack:"overlap_frames" json:"overlap_frames"`
	MaxSteps      int     `msgpack:"max_steps" json:"max_steps"`
	MaxGuidance   float64 `msgpack:"max_guidance" json:"max_guidance"`

	Defaults ManifestDefaults `msgpack:"defaults" json:"defaults"`
	// Resident is the weights' memory as loaded; Files their checkpoints'
	// sizes (memory estimates start from these).
	Resident ManifestBytes `msgpack:"resident" json:"resident"`
	Files    ManifestBytes `msgpack:"files" json:"files"`
	// FP8 says the DiT block weights are FP8.
	FP8 bool `msgpack:"fp8" json:"fp8"`
}

// ManifestDefaults are a model's default settings.
type ManifestDefaults struct {
	Frames   int     `msgpack:"frames" json:"frames"`
	Steps    int     `msgpack:"steps" json:"steps"`
	Guidance float64 `msgpack:"guidance" json:"guidance"`
	Shift    float64 `msgpack:"shift" json:"shift"`
}

// ManifestBytes are sizes per model part.
type ManifestBytes struct {
	Text int64 `msgpack:"text" json:"text"`
	DiT  int64 `msgpack:"dit" json:"dit"`
	VAE  int64 `msgpack:"vae" json:"vae"`
}

// Validate checks that the manifest describes a usable geometry, naming the
// first bad field.
func (m Manifest) Validate() error {
	pos := []struct {
		name string
		v    int
	}{
		{"latent_channels", m.LatentChannels}, {"latent_height", m.LatentHeight}, {"latent_width", m.LatentWidth},
		{"latent_frames_per_chunk", m.LatentFramesPerChunk}, {"frames_per_chunk", m.FramesPerChunk},
		{"width", m.Width}, {"height", m.Height}, {"fps", m.FPS}, {"text_length", m.TextLength}, {"text_dim", m.TextDim},
		{"max_frames", m.MaxFrames}, {"max_steps", m.MaxSteps},
	}
	if m.Model == "" {
		return &FieldError{"model", "is empty"}
	}
	for _, p := range pos {
		if p.v <= 0 {
			return &FieldError{"manifest " + p.name, fmt.Sprintf("%d must be > 0", p.v)}
		}
	}
	if m.MaxFrames%m.FramesPerChunk != 0 {
		return &FieldError{"manifest max_frames", fmt.Sprintf("%d is not a multiple of %d", m.MaxFrames, m.FramesPerChunk)}
	}
	return nil
}

// Chunks is the number of latent (and frame) chunks of a job of frames.
func (m Manifest) Chunks(frames int) int { return frames / m.FramesPerChunk }
