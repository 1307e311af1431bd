package bustest

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/reel-video/reel/internal/tooltest"
)

// Probe is what ffprobe reads of a video's first video stream.
type Probe struct {
	Codec, PixFmt string
	Size          string // WxH
	Rate          string // r_frame_rate, e.g. 8/1
	Frames        string // decoded frame count
}

// FFprobe probes the video at path (decoding every frame to count them). A
// missing ffprobe skips the test, or fails it when REEL_VIDEO_REQUIRE_TOOLS
// is set (CI), so the proof that a video plays is never dropped silently.
func FFprobe(t testing.TB, path string) Probe {
	t.Helper()
	ffprobe := tooltest.Look(t, "ffprobe", "ffmpeg")
	out, err := exec.Command(ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,pix_fmt,width,height,r_frame_rate,nb_read_frames", "-of", "default=nw=1", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	kv := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
			kv[k] = v
		}
	}
	return Probe{kv["codec_name"], kv["pix_fmt"], kv["width"] + "x" + kv["height"], kv["r_frame_rate"], kv["nb_read_frames"]}
}
