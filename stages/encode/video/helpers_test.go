package video

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/reel-video/reel/internal/tooltest"
	"github.com/rs/zerolog"
)

const (
	tw, th, tfps = 64, 64, 8
	chunkFrames  = 16
)

// synthFrames makes n RGB24 frames of moving shapes over a gradient, with
// enough colour and motion to exercise chroma subsampling and the encoders.
func synthFrames(n, w, h int) []byte {
	out := make([]byte, n*w*h*3)
	for f := 0; f < n; f++ {
		t := float64(f) / float64(n)
		cx := float64(w) * (0.2 + 0.6*t)
		cy := float64(h) * (0.5 + 0.3*math.Sin(2*math.Pi*t))
		bx := int(float64(w) * (1 - t) * 0.8)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				p := out[((f*h+y)*w+x)*3:]
				r := uint8(x * 255 / w)
				g := uint8(y * 255 / h)
				b := uint8(128 + 100*math.Sin(float64(x+y+f)/5))
				if dx, dy := float64(x)-cx, float64(y)-cy; dx*dx+dy*dy < 100 {
					r, g, b = 250, 220, 30
				}
				if x >= bx && x < bx+12 && y >= 4 && y < 16 {
					r, g, b = 20, 40, 230
				}
				p[0], p[1], p[2] = r, g, b
			}
		}
	}
	return out
}

// missingTool skips (or, under REEL_VIDEO_REQUIRE_TOOLS, fails) loudly.
func missingTool(t *testing.T, name, pkg string, err error) {
	t.Helper()
	tooltest.Missing(t, name, fmt.Sprintf("install the Debian package %q", pkg), err)
}

// needTool returns the path of ffmpeg or ffprobe, or skips loudly.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missingTool(t, name, "ffmpeg", err)
	}
	return p
}

// encode writes frames through a Writer in chunks of chunkFrames.
func encode(t *testing.T, ctx context.Context, path string, o Options, frames []byte, log zerolog.Logger) Result {
	t.Helper()
	w, err := NewWriter(ctx, path, o, log)
	if err != nil {
		t.Fatal(err)
	}
	fs := o.Width * o.Height * 3
	for off := 0; off < len(frames); off += chunkFrames * fs {
		end := min(len(frames), off+chunkFrames*fs)
		if err := w.WriteChunk(frames[off:end]); err != nil {
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

type probe struct {
	Codec, PixFmt, Profile string
	Frames                 int
	Duration               float64
	ColorSpace, ColorRange string
}

// ffprobe reads codec, pixel format, a decoded frame count and duration.
func ffprobe(t *testing.T, path string) probe {
	t.Helper()
	bin := needTool(t, "ffprobe")
	out, err := exec.Command(bin, "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,pix_fmt,profile,nb_read_frames,color_space,color_range:format=duration",
		"-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var v struct {
		Streams []struct {
			CodecName    string `json:"codec_name"`
			PixFmt       string `json:"pix_fmt"`
			Profile      string `json:"profile"`
			NbReadFrames string `json:"nb_read_frames"`
			ColorSpace   string `json:"color_space"`
			ColorRange   string `json:"color_range"`
		}
		Format struct {
			Duration string
		}
	}
	if err := json.Unmarshal(out, &v); err != nil || len(v.Streams) != 1 {
		t.Fatalf("ffprobe output %s: %v", out, err)
	}
	s := v.Streams[0]
	n, _ := strconv.Atoi(s.NbReadFrames)
	d, _ := strconv.ParseFloat(v.Format.Duration, 64)
	return probe{s.CodecName, s.PixFmt, s.Profile, n, d, s.ColorSpace, s.ColorRange}
}

// decodeYUV decodes a video with ffmpeg to raw yuv420p bytes.
func decodeYUV(t *testing.T, path string) []byte {
	t.Helper()
	bin := needTool(t, "ffmpeg")
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-v", "error", "-nostdin", "-i", path, "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg decode: %v: %s", err, stderr.String())
	}
	return out
}

// testLog returns a logger writing JSON lines into buf.
func testLog(buf *bytes.Buffer) zerolog.Logger { return zerolog.New(buf) }

func tempPath(t *testing.T, name string) string {
	return filepath.Join(t.TempDir(), name)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
