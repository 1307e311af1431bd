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

	// Windowing, in video frames; 0 means the model's default (the
	// manifest's window_frames, overlap_frames). A job longer than a window
	// is denoised as windows of WindowFrames, each overlapping the previous
	// one by OverlapFrames; the denoise stage checks them against its model.
	WindowFrames  int `msgpack:"window_frames,omitempty" json:"window_frames,omitempty"`
	OverlapFrames int `msgpack:"overlap_frames,omitempty" json:"overlap_frames,omitempty"`

	// Source is set on an extension or a remix (reel extend, reel remix):
	// the earlier job whose persisted latent the denoise stage starts from.
	Source *Source `msgpack:"source,omitempty" json:"source,omitempty"`
}

// Source kinds.
const (
	// SourceExtend: the video is the parent's frames followed by new ones
	// continuing from the parent's last latent chunks.
	SourceExtend = "extend"
	// SourceRemix: the video is the parent's latent denoised again from
	// Strength under this job's prompt.
	SourceRemix = "remix"
)

// Source names the parent latent a job is generated from.
type Source struct {
	Kind string `msgpack:"kind" json:"kind"` // SourceExtend or SourceRemix
	Job  string `msgpack:"job" json:"job"`   // the parent
	// Chunks is the parent's chunk count. An extension's chunks [0, Chunks)
	// are the parent's frames, copied; its denoise generates chunks
	// [Chunks, Frames/16). A remix has the parent's length: Chunks = Frames/16.
	Chunks int `msgpack:"chunks" json:"chunks"`
	// Latents (extension) is how many of the parent's latent chunks, ending
	// at chunk Chunks−1, are on the parent's own subjects
	// (reel.latent.<job>.<i>, Chunks−Latents ≤ i < Chunks): all of them
	// unless the parent is itself an extension. The new frames continue
	// from the last min(Latents, overlap) of them, the overlap in chunks.
	Latents int `msgpack:"latents,omitempty" json:"latents,omitempty"`
	// Strength (remix) is s in (0, 1]: sampling starts at sigma s from the
	// parent's latent; 1 is a fresh generation.
	Strength float64 `msgpack:"strength,omitempty" json:"strength,omitempty"`
}

// validate checks the source against the job's chunk count.
func (src *Source) validate(chunks int) error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{"source." + field, fmt.Sprintf(format, args...)}
	}
	if err := ValidJobID(src.Job); err != nil {
		return bad("job", "%v", err)
	}
	switch src.Kind {
	case SourceExtend:
		switch {
		case src.Chunks < 1 || src.Chunks >= chunks:
			return bad("chunks", "%d: an extension of %d chunks continues a parent of 1..%d", src.Chunks, chunks, chunks-1)
		case src.Latents < 1 || src.Latents > src.Chunks:
			return bad("latents", "%d is outside 1..%d (the parent's chunks)", src.Latents, src.Chunks)
		case src.Strength != 0:
			return bad("strength", "is for a remix, not an extension")
		}
	case SourceRemix:
		switch {
		case src.Chunks != chunks:
			return bad("chunks", "%d: a remix has its parent's length (%d chunks)", src.Chunks, chunks)
		case math.IsNaN(src.Strength) || src.Strength <= 0 || src.Strength > 1:
			return bad("strength", "%v is outside (0, 1]", src.Strength)
		case src.Latents != 0:
			return bad("latents", "is for an extension, not a remix")
		}
	default:
		return bad("kind", "%q is neither %q nor %q", src.Kind, SourceExtend, SourceRemix)
	}
	return nil
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
	case s.WindowFrames < 0 || s.WindowFrames%FramesPerChunk != 0 || s.WindowFrames > MaxFrames:
		return &FieldError{"window_frames", fmt.Sprintf("%d is not a multiple of %d in 0..%d (0 = the model's default)", s.WindowFrames, FramesPerChunk, MaxFrames)}
	case s.OverlapFrames < 0 || s.OverlapFrames%FramesPerChunk != 0 || s.OverlapFrames > MaxFrames:
		return &FieldError{"overlap_frames", fmt.Sprintf("%d is not a multiple of %d in 0..%d (0 = the model's default)", s.OverlapFrames, FramesPerChunk, MaxFrames)}
	case s.WindowFrames > 0 && s.OverlapFrames >= s.WindowFrames:
		return &FieldError{"overlap_frames", fmt.Sprintf("%d is not less than window_frames %d", s.OverlapFrames, s.WindowFrames)}
	case s.Source != nil:
		return s.Source.validate(s.Chunks())
	}
	return nil
}

// Windowing is the job's window and overlap in frames, a 0 setting
// replaced by the model's default (the manifest's window_frames and
// overlap_frames), refused when the two do not fit together.
func (s Settings) Windowing(defWindow, defOverlap int) (window, overlap int, err error) {
	window, overlap = s.WindowFrames, s.OverlapFrames
	if window == 0 {
		window = defWindow
	}
	if overlap == 0 {
		overlap = defOverlap
	}
	switch {
	case window <= 0 || window%FramesPerChunk != 0:
		return 0, 0, &FieldError{"window_frames", fmt.Sprintf("%d is not a positive multiple of %d", window, FramesPerChunk)}
	case overlap < 0 || overlap%FramesPerChunk != 0 || overlap >= window:
		return 0, 0, &FieldError{"overlap_frames", fmt.Sprintf("%d does not fit window_frames %d (the model's default window %d, overlap %d): want a multiple of %d below the window",
			overlap, window, defWindow, defOverlap, FramesPerChunk)}
	}
	return window, overlap, nil
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
func GenerationSettings() []string {
	return []string{"frames", "steps", "guidance", "shift", "seed", "window_frames", "overlap_frames"}
}

// OutputSettings names the settings that only shape the encoded file.
func OutputSettings() []string { return []string{"fps", "codec", "crf", "seam_blend"} }
