package protocol

import (
	"fmt"
	"math"
)

// CheckSettings checks a job's settings against what the model m serves:
// the model's name, frames a positive multiple of m.FramesPerChunk up to
// m.MaxFrames, steps up to m.MaxSteps and guidance up to m.MaxGuidance. The
// error is a *FieldError naming the field (it wraps ErrInvalid), so the job
// fails with a reason a client can act on.
func (m Manifest) CheckSettings(s Settings) error {
	switch {
	case s.Model != "" && s.Model != m.Model:
		return &FieldError{"model", fmt.Sprintf("%q is not the served model %q", s.Model, m.Model)}
	case s.Frames <= 0 || s.Frames%m.FramesPerChunk != 0 || s.Frames > m.MaxFrames:
		return &FieldError{"frames", fmt.Sprintf("%d is not a positive multiple of %d up to %d (model %s)", s.Frames, m.FramesPerChunk, m.MaxFrames, m.Model)}
	case s.Steps < MinSteps || s.Steps > m.MaxSteps:
		return &FieldError{"steps", fmt.Sprintf("%d is outside %d..%d (model %s)", s.Steps, MinSteps, m.MaxSteps, m.Model)}
	case math.IsNaN(s.Guidance) || s.Guidance < 0 || s.Guidance > m.MaxGuidance:
		return &FieldError{"guidance", fmt.Sprintf("%v is outside 0..%v (model %s)", s.Guidance, m.MaxGuidance, m.Model)}
	}
	if s.WindowFrames != 0 || s.OverlapFrames != 0 {
		_, _, err := s.Windowing(m.WindowFrames, m.OverlapFrames)
		return err
	}
	return nil
}
