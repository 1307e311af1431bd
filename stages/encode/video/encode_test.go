package video

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestProbeBothPaths: both encoders give h264 yuv420p with the right frame
// count and duration, for 48 frames (3 chunks, 6 s) and 16 frames (2 s).
func TestProbeBothPaths(t *testing.T) {
	needTool(t, "ffmpeg")
	for _, enc := range []string{EncoderFFmpeg, EncoderPureGo} {
		for _, n := range []int{48, 16} {
			t.Run(fmt.Sprintf("%s/%d", enc, n), func(t *testing.T) {
				o := Options{Width: tw, Height: th, FPS: tfps}
				if enc == EncoderPureGo {
					o.FFmpeg = "none"
				}
				var logBuf bytes.Buffer
				path := tempPath(t, "out.mp4")
				res := encode(t, context.Background(), path, o, synthFrames(n, tw, th), testLog(&logBuf))
				if res.Encoder != enc || res.FallbackReason != "" {
					t.Fatalf("encoder %q (fallback %q), want %q", res.Encoder, res.FallbackReason, enc)
				}
				if res.Frames != n || res.Duration.Seconds() != float64(n)/tfps {
					t.Fatalf("result frames %d duration %v", res.Frames, res.Duration)
				}
				p := ffprobe(t, path)
				if p.Codec != "h264" || p.PixFmt != "yuv420p" || p.Frames != n || math.Abs(p.Duration-float64(n)/tfps) > 1e-3 {
					t.Fatalf("ffprobe %+v, want h264 yuv420p %d frames %.1fs", p, n, float64(n)/tfps)
				}
				if p.ColorSpace != "bt709" || p.ColorRange != "tv" {
					t.Fatalf("colour tags %s/%s, want bt709/tv", p.ColorSpace, p.ColorRange)
				}
				if enc == EncoderPureGo && p.Profile != "Constrained Baseline" {
					t.Fatalf("profile %q", p.Profile)
				}
				t.Logf("%s: %+v", enc, p)
			})
		}
	}
}

// TestPureGoLossless: ffmpeg decodes the pure-Go file to exactly the YUV
// bytes our RGB→YUV conversion produced.
func TestPureGoLossless(t *testing.T) {
	for _, size := range [][2]int{{tw, th}, {40, 24}} { // 40×24 exercises SPS cropping
		w, h := size[0], size[1]
		t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
			frames := synthFrames(20, w, h)
			path := tempPath(t, "pcm.mp4")
			var logBuf bytes.Buffer
			// Seam blend off: the comparison is against the frames as given.
			encode(t, context.Background(), path, Options{Width: w, Height: h, FPS: tfps, FFmpeg: "none", SeamBlend: -1}, frames, testLog(&logBuf))
			got := decodeYUV(t, path)
			var want []byte
			fs := w * h * 3
			for i := 0; i < len(frames)/fs; i++ {
				want = append(want, RGBToYUV420(nil, frames[i*fs:(i+1)*fs], w, h)...)
			}
			if len(got) != len(want) {
				t.Fatalf("decoded %d bytes, want %d", len(got), len(want))
			}
			if !bytes.Equal(got, want) {
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("first difference at byte %d (frame %d): got %d want %d", i, i/yuv420Size(w, h), got[i], want[i])
					}
				}
			}
		})
	}
}

// expectedYUV is what the pure-Go path must store for frames: seam blend
// at every chunkFrames boundary, then RGBToYUV420.
func expectedYUV(frames []byte, w, h int, blend float64) []byte {
	fs := w * h * 3
	f := append([]byte(nil), frames...)
	for b := chunkFrames; b < len(f)/fs; b += chunkFrames {
		BlendSeam(f[(b-1)*fs:b*fs], f[b*fs:(b+1)*fs], blend)
	}
	var out []byte
	for i := 0; i < len(f)/fs; i++ {
		out = append(out, RGBToYUV420(nil, f[i*fs:(i+1)*fs], w, h)...)
	}
	return out
}

// TestFallbackDetectedMidStream: an ffmpeg that dies while being fed is
// noticed by WriteChunk (not only at Close), and the job carries on.
func TestFallbackDetectedMidStream(t *testing.T) {
	bin := tempPath(t, "ffmpeg-dies")
	writeScript(t, bin, "head -c 1000 >/dev/null\nexit 3\n")
	var logBuf bytes.Buffer
	w, err := NewWriter(context.Background(), tempPath(t, "mid.mp4"), Options{Width: tw, Height: th, FPS: tfps, FFmpeg: bin}, testLog(&logBuf))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if w.proc() == nil {
		t.Fatal("script did not start")
	}
	if err := w.WriteChunk(synthFrames(chunkFrames, tw, th)); err != nil {
		t.Fatalf("WriteChunk must not fail the job: %v", err)
	}
	if w.proc() != nil || !strings.Contains(w.fallback, "exit status 3") {
		t.Fatalf("failure not detected during WriteChunk (proc %v, fallback %q)", w.proc() != nil, w.fallback)
	}
}

// TestFallback: a missing ffmpeg, one that dies after reading some input and
// one that fails at the end all give a valid pure-Go file of every frame,
// with FallbackReason set and exactly one warning.
func TestFallback(t *testing.T) {
	needTool(t, "ffprobe")
	dir := t.TempDir()
	early := dir + "/ffmpeg-early"
	late := dir + "/ffmpeg-late"
	writeScript(t, early, "head -c 20000 >/dev/null\necho 'early: simulated encoder crash' >&2\nexit 1\n")
	writeScript(t, late, "cat >/dev/null\necho 'late: simulated muxer failure' >&2\nexit 1\n")
	cases := []struct{ name, bin, reason string }{
		{"missing", "/nonexistent/ffmpeg", "/nonexistent/ffmpeg"},
		{"fails-mid-stream", early, "early: simulated encoder crash"},
		{"fails-at-close", late, "late: simulated muxer failure"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logBuf bytes.Buffer
			path := tempPath(t, "fb.mp4")
			res := encode(t, context.Background(), path, Options{Width: tw, Height: th, FPS: tfps, FFmpeg: c.bin}, synthFrames(48, tw, th), testLog(&logBuf))
			if res.Encoder != EncoderPureGo || !strings.Contains(res.FallbackReason, c.reason) {
				t.Fatalf("encoder %q reason %q, want purego with %q", res.Encoder, res.FallbackReason, c.reason)
			}
			if n := strings.Count(logBuf.String(), `"level":"warn"`); n != 1 {
				t.Fatalf("%d warnings, want 1:\n%s", n, logBuf.String())
			}
			p := ffprobe(t, path)
			if p.Codec != "h264" || p.PixFmt != "yuv420p" || p.Frames != 48 || math.Abs(p.Duration-6) > 1e-3 {
				t.Fatalf("ffprobe %+v", p)
			}
			// The file holds exactly the frames that went in (seam-blended).
			if got, want := decodeYUV(t, path), expectedYUV(synthFrames(48, tw, th), tw, th, DefaultSeamBlend); !bytes.Equal(got, want) {
				t.Fatal("fallback file does not decode to the frames written")
			}
			if fileExists(path+".ffmpeg-partial") || fileExists(path+".purego-partial") {
				t.Fatal("temporary file left behind")
			}
		})
	}
}

func TestX264Threads(t *testing.T) {
	for _, c := range []struct{ height, want int }{{64, 1}, {128, 1}, {129, 2}, {544, 5}, {1080, 8}, {4320, 8}} {
		if got := x264Threads(c.height); got != c.want {
			t.Errorf("x264Threads(%d) = %d, want %d", c.height, got, c.want)
		}
	}
}

func TestX264Lookahead(t *testing.T) {
	for _, c := range []struct{ chunk, want int }{{0, mediumLookahead}, {16, 16}, {17, 17}, {40, 40}, {64, mediumLookahead}} {
		if got := x264Lookahead(c.chunk); got != c.want {
			t.Errorf("x264Lookahead(%d) = %d, want %d", c.chunk, got, c.want)
		}
	}
	args := strings.Join(ffmpegArgs(Options{Width: 64, Height: 64, FPS: 8, CRF: 18, ChunkFrames: 16}, "out"), " ")
	if !strings.Contains(args, "-x264-params rc-lookahead=16") || !strings.Contains(args, "-threads 1") {
		t.Errorf("ffmpeg command line %q: want one chunk of lookahead and one thread", args)
	}
	if err := (Options{Width: 64, Height: 64, FPS: 8, ChunkFrames: -1}).Validate(); err == nil {
		t.Error("negative frames per chunk accepted")
	}
}
