package video

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// startSpare starts a spare in dir for the test options (fps) or skips.
func startSpare(t *testing.T, dir string, fps int, idle time.Duration) *Spare {
	t.Helper()
	needTool(t, "ffmpeg")
	s, err := StartSpare(Options{Width: tw, Height: th, FPS: fps}, dir, "spare-*.mp4-partial", idle)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// waitGone waits (bounded) until pid no longer exists.
func waitGone(t *testing.T, pid int, why string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("ffmpeg pid %d still exists %s", pid, why)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A writer on a spare ffmpeg makes the same bytes as one that starts its
// own, leaves no file behind but the MP4, and reaps the process.
func TestSpareWriterMatchesFreshWriter(t *testing.T) {
	dir := t.TempDir()
	frames := synthFrames(40, tw, th)
	o := Options{Width: tw, Height: th, FPS: tfps}
	var lb bytes.Buffer
	fresh := encode(t, context.Background(), filepath.Join(dir, "fresh.mp4"), o, frames, testLog(&lb))

	s := startSpare(t, dir, tfps, time.Minute)
	pid := s.p.pid()
	path := filepath.Join(dir, "spare.mp4")
	w, err := NewSpareWriter(context.Background(), path, o, s, testLog(&lb))
	if err != nil {
		t.Fatal(err)
	}
	got := writeAll(t, w, frames, o)
	if got.Encoder != EncoderFFmpeg || got.FallbackReason != "" {
		t.Fatalf("encoder %s (%s): %s", got.Encoder, got.FallbackReason, lb.String())
	}
	a, _ := os.ReadFile(fresh.Path)
	b, _ := os.ReadFile(got.Path)
	if len(a) == 0 || !bytes.Equal(a, b) || !bytes.Equal(fresh.GIF, got.GIF) || !bytes.Equal(fresh.Poster, got.Poster) {
		t.Fatalf("spare writer's outputs differ: mp4 %d/%d B, gif %d/%d B", len(b), len(a), len(got.GIF), len(fresh.GIF))
	}
	waitGone(t, pid, "after Close")
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 2 {
		t.Fatalf("files left in the work dir: %v, want only fresh.mp4 and spare.mp4", names)
	}
	// Used once: a second writer cannot take it.
	if _, err := NewSpareWriter(context.Background(), filepath.Join(dir, "again.mp4"), o, s, testLog(&lb)); err == nil {
		t.Fatal("a used spare was taken again")
	}
}

func writeAll(t *testing.T, w *Writer, frames []byte, o Options) Result {
	t.Helper()
	fs := o.Width * o.Height * 3
	for off := 0; off < len(frames); off += chunkFrames * fs {
		if err := w.WriteChunk(frames[off:min(len(frames), off+chunkFrames*fs)]); err != nil {
			w.Abort()
			t.Fatal(err)
		}
	}
	res, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Options that give another ffmpeg command line do not take the spare,
// which stays available for matching ones.
func TestSpareMismatchLeavesSpare(t *testing.T) {
	dir := t.TempDir()
	s := startSpare(t, dir, tfps, time.Minute)
	var lb bytes.Buffer
	for _, o := range []Options{
		{Width: tw, Height: th, FPS: 12},
		{Width: tw, Height: th, FPS: tfps, CRF: 30},
		{Width: 2 * tw, Height: th, FPS: tfps},
	} {
		if _, err := NewSpareWriter(context.Background(), filepath.Join(dir, "x.mp4"), o, s, testLog(&lb)); !errors.Is(err, ErrSpareMismatch) {
			t.Fatalf("options %+v: err %v, want ErrSpareMismatch", o, err)
		}
	}
	w, err := NewSpareWriter(context.Background(), filepath.Join(dir, "ok.mp4"), Options{Width: tw, Height: th, FPS: tfps}, s, testLog(&lb))
	if err != nil {
		t.Fatal(err)
	}
	w.Abort()
}

// An unused spare dies by itself after its idle time, and by Close.
func TestSpareEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		idle time.Duration
		end  func(*Spare)
	}{
		{"idle", 20 * time.Millisecond, func(*Spare) {}},
		{"close", time.Minute, func(s *Spare) { s.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := startSpare(t, dir, tfps, tc.idle)
			pid := s.p.pid()
			tc.end(s)
			waitGone(t, pid, "after the spare ended")
			var lb bytes.Buffer
			if _, err := NewSpareWriter(context.Background(), filepath.Join(dir, "x.mp4"), Options{Width: tw, Height: th, FPS: tfps}, s, testLog(&lb)); err == nil {
				t.Fatal("an ended spare was taken")
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("%d files left by an unused spare", len(ents))
			}
		})
	}
}

// Once taken, the job's context bounds the spare's process, and Close on
// the spare no longer touches it.
func TestSpareFollowsJobContext(t *testing.T) {
	dir := t.TempDir()
	s := startSpare(t, dir, tfps, time.Minute)
	pid := s.p.pid()
	ctx, cancel := context.WithCancel(context.Background())
	var lb bytes.Buffer
	w, err := NewSpareWriter(ctx, filepath.Join(dir, "c.mp4"), Options{Width: tw, Height: th, FPS: tfps}, s, testLog(&lb))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteChunk(synthFrames(chunkFrames, tw, th)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if processGone(pid) {
		t.Fatal("Close on a taken spare killed the job's ffmpeg")
	}
	cancel()
	waitGone(t, pid, "after the job's context was cancelled")
	if _, err := w.Close(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close after cancel: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("%d files left after a cancelled job", len(ents))
	}
}
