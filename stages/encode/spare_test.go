package encode

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/stagemem"
	"github.com/reel-video/reel/stages/stagetest/fixture"
)

// The handler starts an ffmpeg before its first job, from the served
// model's frame size, and a job with the default output settings encodes
// on it: no ffmpeg starts while the job runs. A job with other settings
// starts its own.
func TestFirstJobEncodesOnTheSpare(t *testing.T) {
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skipf("ffmpeg not installed (%v); the video package's tests report it loudly", err)
	}
	set := fixture.Settings(3, 1)
	px := fixture.Frames(t, fixture.Prompt(), set)
	for _, tc := range []struct {
		name       string
		fps        int // the job's; 0 = the model's
		wantStarts int
	}{
		{"DefaultSettings", 0, 1},
		{"OtherFPS", 12, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			starts := filepath.Join(dir, "starts")
			wrapper := filepath.Join(dir, "ffmpeg")
			// Each start appends a line, then becomes the real ffmpeg.
			script := "#!/bin/sh\necho start >> '" + starts + "'\nexec '" + ff + "' \"$@\"\n"
			if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			h := fixture.Handler(t, Descriptor(), stages.OutputDefaults{FFmpeg: wrapper, WorkDir: dir}).(*Handler)
			deadline := time.Now().Add(10 * time.Second)
			for !h.hasSpare() || countLines(starts) < 1 {
				if time.Now().After(deadline) {
					t.Fatal("no spare ffmpeg 10 s after the handler was made")
				}
				time.Sleep(5 * time.Millisecond)
			}
			const job = "spare-1"
			jset := set
			jset.FPS = tc.fps
			b := stagemem.New()
			for i := range px {
				env := fixture.Envelope(t, job, protocol.StageVAEDecode, jset, i, len(px), protocol.FramesBody{Frames: protocol.U8Tensor(px[i], 16, 64, 64, 3)})
				if _, err := b.Publish(t.Context(), protocol.FramesSubject(job, i), env); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := b.Handle(t.Context(), h, protocol.FramesSubject(job, 0), stagemem.Options{}); err != nil {
				t.Fatal(err)
			}
			// Read before the next spare starts (spareAfter after the job).
			if n := countLines(starts); n != tc.wantStarts {
				t.Errorf("ffmpeg started %d times, want %d", n, tc.wantStarts)
			}
			env, err := b.Message(protocol.VideoSubject(job))
			if err != nil {
				t.Fatal(err)
			}
			var body protocol.VideoBody
			if err := env.DecodeBody(&body); err != nil {
				t.Fatal(err)
			}
			mp4, err := b.Blob(protocol.VideoObject(job))
			if err != nil || body.Video.Encoder != "ffmpeg" || body.Video.Bytes != len(mp4.Data) || !bytes.Contains(mp4.Data[:min(len(mp4.Data), 16)], []byte("ftyp")) {
				t.Fatalf("video %+v, stored %d bytes (%v)", body.Video, len(mp4.Data), err)
			}
		})
	}
}

func (h *Handler) hasSpare() bool {
	h.spares.mu.Lock()
	defer h.spares.mu.Unlock()
	return h.spares.spare != nil
}

func countLines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}
