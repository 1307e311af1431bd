package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/bustest"
)

// The engine's frame size and frame rate are flags: `reel generate --width
// 96 --height 64 --model-fps 12` runs reel-tiny's weights as the model
// reel-tiny@96x64 (the job names it) and writes a 96×64 video at 12 fps.
func TestGenerateAtAnotherFrameSize(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.mp4")
	ctx := bustest.Ctx(t, 3*time.Minute)
	_, stderr, code := run(t, ctx, "generate", "a red ball bouncing on grass", "--frames", "32", "--steps", "3",
		"--width", "96", "--height", "64", "--model-fps", "12", "--model", "reel-tiny@96x64",
		"--data", filepath.Join(dir, "data"), "-o", out)
	if code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	if p, want := bustest.FFprobe(t, out), (bustest.Probe{Codec: "h264", PixFmt: "yuv420p", Size: "96x64", Rate: "12/1", Frames: "32"}); p != want {
		t.Fatalf("ffprobe: got %+v, want %+v", p, want)
	}
}
