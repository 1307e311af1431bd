package protocol

import (
	"errors"
	"fmt"
	"math"
)

// Intake limits (documented in docs/pipeline.md).
const (
	FramesPerChunk = 16  // video frames per latent chunk (4 latent frames)
	MaxFrames      = 768 // 48 chunks: 96 s at 8 fps
	MinSteps       = 1
	MaxSteps       = 200
	MaxPromptBytes = 2048 // UTF-8 bytes, prompt and negative prompt each
	MaxGuidance    = 100
	// CodecH264 is the one output codec: H.264 in MP4 is what every browser
	// plays (the encode stage's ffmpeg and pure-Go paths both write it).
	CodecH264 = "h264"
)

// Defaults of a job's settings.
const (
	DefaultFrames   = 48
	DefaultSteps    = 30
	DefaultGuidance = 5.0
	DefaultShift    = 3.0
)

// Settings are a job's generation and output settings; they travel in every
// envelope so that each stage (and a replay) sees the same request.
type Settings struct {
	Frames   int     `msgpack:"frames" json:"frames"`
	Steps    int     `msgpack:"steps" json:"steps"`
	Guidance float64 `msgpack:"guidance" json:"guidance"`
	Shift    float64 `msgpack:"shift" json:"shift"`
	Seed     int64   `msgpack:"seed" json:"seed"`
	// Model names the model the job runs on (a Manifest.Model); empty
	// means the one served, which the first stage writes in.
	Model string `msgpack:"model,omitempty" json:"model,omitempty"`

	// Output settings; zero means the encode stage's default.
	FPS       int      `msgpack:"fps,omitempty" json:"fps,omitempty"`
	Codec     string   `msgpack:"codec,omitempty" json:"codec,omitempty"`
	CRF       int      `msgpack:"crf,omitempty" json:"crf,omitempty"`
	SeamBlend *float64 `msgpack:"seam_blend,omitempty" json:"seam_blend,omitempty"`
}

// DefaultSettings returns the CLI defaults.
func DefaultSettings() Settings {
	return Settings{Frames: DefaultFrames, Steps: DefaultSteps, Guidance: DefaultGuidance, Shift: DefaultShift}
}

// Chunks is the number of latent / frame chunks of the job.
func (s Settings) Chunks() int { return s.Frames / FramesPerChunk }

// ErrInvalid marks a request that fails validation.
var ErrInvalid = errors.New("invalid request")

// FieldError names the offending field.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Validate checks the settings, naming the first bad field.
func (s Settings) Validate() error {
	switch {
	case s.Frames <= 0 || s.Frames%FramesPerChunk != 0 || s.Frames > MaxFrames:
		return &FieldError{"frames", fmt.Sprintf("%d is not a positive multiple of %d up to %d", s.Frames, FramesPerChunk, MaxFrames)}
	case s.Steps < MinSteps || s.Steps > MaxSteps:
		return &FieldError{"steps", fmt.Sprintf("%d is outside %d..%d", s.Steps, MinSteps, MaxSteps)}
	case math.IsNaN(s.Guidance) || s.Guidance < 0 || s.Guidance > MaxGuidance:
		return &FieldError{"guidance", fmt.Sprintf("%v must be >= 0 and <= %d", s.Guidance, MaxGuidance)}
	case math.IsNaN(s.Shift) || math.IsInf(s.Shift, 0) || s.Shift <= 0:
		return &FieldError{"shift", fmt.Sprintf("%v must be > 0", s.Shift)}
	case s.FPS < 0 || s.FPS > 120:
		return &FieldError{"fps", fmt.Sprintf("%d is outside 0..120 (0 = stage default)", s.FPS)}
	case s.Codec != "" && s.Codec != CodecH264:
		return &FieldError{"codec", fmt.Sprintf("%q is not supported (only %q, the default)", s.Codec, CodecH264)}
	case s.CRF < 0 || s.CRF > 51:
		return &FieldError{"crf", fmt.Sprintf("%d is outside 0..51 (0 = stage default)", s.CRF)}
	case s.SeamBlend != nil && (math.IsNaN(*s.SeamBlend) || *s.SeamBlend < 0 || *s.SeamBlend > 0.5):
		return &FieldError{"seam_blend", fmt.Sprintf("%v is outside 0..0.5 (0 = off)", *s.SeamBlend)}
	}
	return nil
}

// Request is the body of a prompt message.
type Request struct {
	Prompt   string `msgpack:"prompt" json:"prompt"`
	Negative string `msgpack:"negative,omitempty" json:"negative,omitempty"`
}

// Validate checks the prompt texts.
func (r Request) Validate() error {
	switch {
	case r.Prompt == "":
		return &FieldError{"prompt", "is empty"}
	case len(r.Prompt) > MaxPromptBytes:
		return &FieldError{"prompt", fmt.Sprintf("is %d bytes, the limit is %d", len(r.Prompt), MaxPromptBytes)}
	case len(r.Negative) > MaxPromptBytes:
		return &FieldError{"negative", fmt.Sprintf("is %d bytes, the limit is %d", len(r.Negative), MaxPromptBytes)}
	}
	return nil
}

// GenerationSettings names the settings that shape what is generated (the
// JSON/msgpack keys).
func GenerationSettings() []string { return []string{"frames", "steps", "guidance", "shift", "seed"} }

// OutputSettings names the settings that only shape the encoded file.
func OutputSettings() []string { return []string{"fps", "codec", "crf", "seam_blend"} }
