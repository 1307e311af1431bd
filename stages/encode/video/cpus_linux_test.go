package video

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMP4SameBytesOnAnyCPUCount: the same frames make the same MP4 whether
// ffmpeg may use one CPU or all of them (x264's thread count comes from the
// frame size, not the host: x264Threads).
func TestMP4SameBytesOnAnyCPUCount(t *testing.T) {
	ffmpeg := needTool(t, "ffmpeg")
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		missingTool(t, "taskset", "util-linux", err)
	}
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU: both encodes would see the same host")
	}
	// ffmpeg confined to one of the CPUs this process may use, as on a
	// 1-CPU host.
	var cpus unix.CPUSet
	if err := unix.SchedGetaffinity(0, &cpus); err != nil {
		t.Fatal(err)
	}
	cpu := 0
	for !cpus.IsSet(cpu) {
		cpu++
	}
	oneCPU := filepath.Join(t.TempDir(), "ffmpeg-1cpu")
	script := fmt.Sprintf("#!/bin/sh\nexec %s -c %d %s \"$@\"\n", taskset, cpu, ffmpeg)
	if err := os.WriteFile(oneCPU, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	frames := synthFrames(48, tw, th)
	var mp4s [][]byte
	for _, bin := range []string{ffmpeg, oneCPU} {
		path := tempPath(t, "out.mp4")
		res := encode(t, context.Background(), path, Options{Width: tw, Height: th, FPS: tfps, FFmpeg: bin}, frames, testLog(new(bytes.Buffer)))
		if res.Encoder != EncoderFFmpeg {
			t.Fatalf("%s: encoder %q (%s)", bin, res.Encoder, res.FallbackReason)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		mp4s = append(mp4s, b)
	}
	if !bytes.Equal(mp4s[0], mp4s[1]) {
		t.Errorf("the MP4 on all %d CPUs (%d bytes) differs from the one on one CPU (%d bytes)", runtime.NumCPU(), len(mp4s[0]), len(mp4s[1]))
	}
}
