package protocol

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// Manifest is what an engine declares about the model it serves. Stages,
// intake validation, memory estimates and the encode stage take geometry,
// limits and defaults from it, never from literals. Frame counts are video
// frames; latents are normalised [LatentChannels, T, LatentHeight,
// LatentWidth] float32 in that order, T = frames / FramesPerChunk ·
// LatentFramesPerChunk, and travel as chunks of LatentFramesPerChunk latent
// frames, each decoding to FramesPerChunk video frames on its own.
type Manifest struct {
	// Model is the id a job's settings name: the checkpoint's name at its
	// native frame size ("reel-tiny"), suffixed "@<width>x<height>" when
	// the engine runs the same weights at another size ("reel-tiny@96x64"),
	// so that workers of different geometry never take each other's jobs.
	Model string `msgpack:"model" json:"model"`
	// Checkpoint is the weights' own model name, the same at every frame
	// size ("reel-tiny").
	Checkpoint string `msgpack:"checkpoint" json:"checkpoint"`
	// Digest is "sha256:<64 hex>" of the weight files' bytes concatenated
	// in the order text encoder, DiT, VAE (cat text dit vae | sha256sum;
	// WeightsDigest).
	Digest string `msgpack:"digest" json:"digest"`

	LatentChannels       int `msgpack:"latent_channels" json:"latent_channels"`
	LatentHeight         int `msgpack:"latent_height" json:"latent_height"`
	LatentWidth          int `msgpack:"latent_width" json:"latent_width"`
	LatentFramesPerChunk int `msgpack:"latent_frames_per_chunk" json:"latent_frames_per_chunk"`
	FramesPerChunk       int `msgpack:"frames_per_chunk" json:"frames_per_chunk"`
	Width                int `msgpack:"width" json:"width"`             // video frame width, pixels
	Height               int `msgpack:"height" json:"height"`           // video frame height, pixels
	FPS                  int `msgpack:"fps" json:"fps"`                 // default frame rate of the video
	TextLength           int `msgpack:"text_length" json:"text_length"` // tokens per text embedding
	TextDim              int `msgpack:"text_dim" json:"text_dim"`       // values per token

	// MaxFrames is the longest job, a multiple of FramesPerChunk.
	MaxFrames int `msgpack:"max_frames" json:"max_frames"`
	// WindowFrames is the length the model was trained on; longer jobs are
	// denoised as overlapping windows of this many frames, each conditioned
	// on the previous one's last OverlapFrames (the defaults of a job's
	// window settings; both multiples of FramesPerChunk, overlap < window).
	WindowFrames  int `msgpack:"window_frames" json:"window_frames"`
	OverlapFrames int `msgpack:"overlap_frames" json:"overlap_frames"`
	// MaxSteps and MaxGuidance bound a job's steps (from 1) and guidance
	// (from 0).
	MaxSteps    int     `msgpack:"max_steps" json:"max_steps"`
	MaxGuidance float64 `msgpack:"max_guidance" json:"max_guidance"`
	// Defaults are the settings of a job that gives none.
	Defaults ManifestDefaults `msgpack:"defaults" json:"defaults"`

	// Resident is the memory the loaded weights keep (bytes), Files the
	// sizes of the checkpoint files they came from (built-in checkpoints
	// stay mapped, so their pages count too). Both are 0 for a model the
	// engine did not load (a process serving only some stages loads only
	// their models, StageSpec.Model).
	Resident ManifestBytes `msgpack:"resident" json:"resident"`
	Files    ManifestBytes `msgpack:"files" json:"files"`
	// FP8 is true when the DiT block weights are FP8 (E4M3) codes.
	FP8 bool `msgpack:"fp8" json:"fp8"`
}

// ManifestDefaults are a model's default job settings.
type ManifestDefaults struct {
	Frames   int     `msgpack:"frames" json:"frames"`
	Steps    int     `msgpack:"steps" json:"steps"`
	Guidance float64 `msgpack:"guidance" json:"guidance"`
	Shift    float64 `msgpack:"shift" json:"shift"`
}

// ManifestBytes is a size in bytes for each part of a model.
type ManifestBytes struct {
	Text int64 `msgpack:"text" json:"text"`
	DiT  int64 `msgpack:"dit" json:"dit"`
	VAE  int64 `msgpack:"vae" json:"vae"`
}

// Total is the sum of the parts.
func (b ManifestBytes) Total() int64 { return b.Text + b.DiT + b.VAE }

// ErrManifest is wrapped by every Validate error.
var ErrManifest = errors.New("invalid manifest")

// ManifestFieldError names the field of a manifest that fails Validate.
type ManifestFieldError struct {
	Field  string // the field's msgpack/JSON name, e.g. "latent_width" or "defaults.steps"
	Reason string
}

func (e *ManifestFieldError) Error() string {
	return fmt.Sprintf("%v: %s: %s", ErrManifest, e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrManifest) hold.
func (e *ManifestFieldError) Unwrap() error { return ErrManifest }

// manifestMaxIDLen bounds Model and Checkpoint: they travel in every job's
// settings.
const manifestMaxIDLen = 64

// Validate checks that the manifest is self-consistent; the error is a
// *ManifestFieldError naming the first bad field.
func (m Manifest) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &ManifestFieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	pos := []struct {
		name string
		v    int
	}{
		{"latent_channels", m.LatentChannels}, {"latent_height", m.LatentHeight}, {"latent_width", m.LatentWidth},
		{"latent_frames_per_chunk", m.LatentFramesPerChunk}, {"frames_per_chunk", m.FramesPerChunk},
		{"width", m.Width}, {"height", m.Height}, {"fps", m.FPS}, {"text_length", m.TextLength},
		{"text_dim", m.TextDim}, {"max_frames", m.MaxFrames}, {"window_frames", m.WindowFrames},
		{"max_steps", m.MaxSteps}, {"defaults.frames", m.Defaults.Frames}, {"defaults.steps", m.Defaults.Steps},
	}
	if err := manifestID(m.Model, true); err != nil {
		return bad("model", "%v", err)
	}
	if err := manifestID(m.Checkpoint, false); err != nil {
		return bad("checkpoint", "%v", err)
	}
	if !manifestDigest(m.Digest) {
		return bad("digest", "%q is not sha256:<64 lower-case hex digits>", m.Digest)
	}
	for _, f := range pos {
		if f.v <= 0 {
			return bad(f.name, "%d must be positive", f.v)
		}
	}
	per := m.FramesPerChunk
	multiple := func(name string, v int) error {
		if v%per != 0 {
			return bad(name, "%d is not a multiple of frames_per_chunk %d", v, per)
		}
		return nil
	}
	switch {
	case per%m.LatentFramesPerChunk != 0:
		return bad("frames_per_chunk", "%d is not a multiple of latent_frames_per_chunk %d", per, m.LatentFramesPerChunk)
	case m.Width%m.LatentWidth != 0 || m.Height%m.LatentHeight != 0 || m.Width/m.LatentWidth != m.Height/m.LatentHeight:
		return bad("latent_width", "latent %dx%d is not one spatial compression of the %dx%d frame",
			m.LatentWidth, m.LatentHeight, m.Width, m.Height)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"max_frames", m.MaxFrames}, {"window_frames", m.WindowFrames}, {"overlap_frames", m.OverlapFrames}, {"defaults.frames", m.Defaults.Frames}} {
		if err := multiple(f.name, f.v); err != nil {
			return err
		}
	}
	switch {
	case m.OverlapFrames < 0 || m.OverlapFrames >= m.WindowFrames:
		return bad("overlap_frames", "%d must be in [0, window_frames %d)", m.OverlapFrames, m.WindowFrames)
	case m.Defaults.Frames > m.MaxFrames:
		return bad("defaults.frames", "%d exceeds max_frames %d", m.Defaults.Frames, m.MaxFrames)
	case m.Defaults.Steps > m.MaxSteps:
		return bad("defaults.steps", "%d exceeds max_steps %d", m.Defaults.Steps, m.MaxSteps)
	case !(m.MaxGuidance >= 0) || math.IsInf(m.MaxGuidance, 0):
		return bad("max_guidance", "%v must be finite and >= 0", m.MaxGuidance)
	case !(m.Defaults.Guidance >= 0 && m.Defaults.Guidance <= m.MaxGuidance):
		return bad("defaults.guidance", "%v is outside [0, max_guidance %v]", m.Defaults.Guidance, m.MaxGuidance)
	case !(m.Defaults.Shift > 0) || math.IsInf(m.Defaults.Shift, 0):
		return bad("defaults.shift", "%v must be finite and > 0", m.Defaults.Shift)
	case m.Resident.Text < 0 || m.Resident.DiT < 0 || m.Resident.VAE < 0:
		return bad("resident", "%+v has a negative size", m.Resident)
	case m.Files.Text < 0 || m.Files.DiT < 0 || m.Files.VAE < 0:
		return bad("files", "%+v has a negative size", m.Files)
	}
	return nil
}

// manifestID checks a model id: 1 to 64 of [a-z A-Z 0-9 . _ -], and "@"
// when variant is true (Model's frame-size suffix).
func manifestID(s string, variant bool) error {
	if s == "" || len(s) > manifestMaxIDLen {
		return fmt.Errorf("%q must be 1 to %d characters", s, manifestMaxIDLen)
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-", r) || variant && r == '@'
		if !ok {
			return fmt.Errorf("%q: character %q is not allowed", s, r)
		}
	}
	return nil
}

// WeightsDigest is Manifest.Digest of three weight files: "sha256:" and the
// hex SHA-256 of the text encoder's, the DiT's and the VAE's bytes, one
// after the other.
func WeightsDigest(text, dit, vae []byte) string {
	d, _ := WeightsDigestFrom(bytes.NewReader(text), bytes.NewReader(dit), bytes.NewReader(vae))
	return d
}

// WeightsDigestFrom is WeightsDigest of the three files read to their
// ends, streamed: a process that loads only some of the models hashes the
// others without holding them.
func WeightsDigestFrom(text, dit, vae io.Reader) (string, error) {
	h := sha256.New()
	for _, r := range []io.Reader{text, dit, vae} {
		if _, err := io.Copy(h, r); err != nil {
			return "", err
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func manifestDigest(s string) bool {
	hex, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for _, r := range hex {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// Chunks is the number of chunks of a video of frames frames (frames a
// multiple of FramesPerChunk).
func (m Manifest) Chunks(frames int) int { return frames / m.FramesPerChunk }

// LatentFrames is T, the latent frames of a video of frames frames.
func (m Manifest) LatentFrames(frames int) int { return m.Chunks(frames) * m.LatentFramesPerChunk }

// LatentSize is the number of float32 values of a video's latent.
func (m Manifest) LatentSize(frames int) int {
	return m.LatentChannels * m.LatentFrames(frames) * m.LatentHeight * m.LatentWidth
}

// ChunkLatentSize is the number of float32 values of one latent chunk.
func (m Manifest) ChunkLatentSize() int {
	return m.LatentChannels * m.LatentFramesPerChunk * m.LatentHeight * m.LatentWidth
}

// FrameBytes is the size of one RGB24 video frame.
func (m Manifest) FrameBytes() int { return 3 * m.Width * m.Height }

// TextSize is the number of float32 values of one text embedding.
func (m Manifest) TextSize() int { return m.TextLength * m.TextDim }
