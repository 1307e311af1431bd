package protocol

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckSettings(t *testing.T) {
	m := Manifest{Model: "tiny@96x64", FramesPerChunk: 16, MaxFrames: 64, MaxSteps: 20, MaxGuidance: 8}
	ok := Settings{Frames: 32, Steps: 10, Guidance: 5}
	tests := []struct {
		name  string
		mod   func(*Settings)
		field string // "" = valid
	}{
		{"fits", func(*Settings) {}, ""},
		{"named model", func(s *Settings) { s.Model = "tiny@96x64" }, ""},
		{"other model", func(s *Settings) { s.Model = "tiny" }, "model"},
		{"too long", func(s *Settings) { s.Frames = 80 }, "frames"},
		{"not a chunk multiple", func(s *Settings) { s.Frames = 24 }, "frames"},
		{"too many steps", func(s *Settings) { s.Steps = 21 }, "steps"},
		{"no steps", func(s *Settings) { s.Steps = 0 }, "steps"},
		{"guidance above the model's", func(s *Settings) { s.Guidance = 9 }, "guidance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.mod(&s)
			err := m.CheckSettings(s)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("CheckSettings = %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), tt.field+": ") {
				t.Fatalf("CheckSettings = %v, want a FieldError on %s", err, tt.field)
			}
		})
	}
}

// Window settings a job gives are checked with the manifest's defaults.
func TestCheckSettingsWindows(t *testing.T) {
	m := Manifest{Model: "m", FramesPerChunk: 16, MaxFrames: 768, MaxSteps: 200, MaxGuidance: 100, WindowFrames: 48, OverlapFrames: 32}
	for _, c := range []struct {
		window, overlap int
		field           string
	}{{0, 0, ""}, {0, 16, ""}, {96, 0, ""}, {0, 48, "overlap_frames"}, {32, 0, "overlap_frames"}, {64, 64, "overlap_frames"}} {
		s := DefaultSettings()
		s.WindowFrames, s.OverlapFrames = c.window, c.overlap
		err := m.CheckSettings(s)
		var fe *FieldError
		if c.field == "" && err != nil || c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field) {
			t.Errorf("window %d overlap %d: %v, want field %q", c.window, c.overlap, err, c.field)
		}
	}
}
