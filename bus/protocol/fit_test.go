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
