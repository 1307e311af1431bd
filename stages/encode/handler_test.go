package encode_test

// Unit tests of the handler on the in-memory delivery: no NATS server.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/encode"
	"github.com/reel-video/reel/stages/encode/video"
	"github.com/reel-video/reel/stages/stagemem"
	"github.com/reel-video/reel/stages/stagetest/fixture"
)

// pureGo builds the handler from its descriptor with the pure-Go encoder
// (no ffmpeg needed, and the same bytes everywhere).
func pureGo(t *testing.T) stages.Handler {
	return fixture.Handler(t, encode.Descriptor(), stages.OutputDefaults{FFmpeg: "none", WorkDir: t.TempDir()})
}

// frameCache holds the engine's frames per generation settings for one test.
type frameCache struct{ m fixture.PerSettings[[][]byte] }

func (c *frameCache) of(t *testing.T, set protocol.Settings) [][]byte {
	gen := set
	gen.FPS = 0 // output settings do not change the frames
	return c.m.Get(gen, func() [][]byte { return fixture.Frames(t, fixture.Prompt(), gen) })
}

func framesOf(t *testing.T, set protocol.Settings) [][]byte { return new(frameCache).of(t, set) }

// publishChunks publishes the given chunks of px as vaedecode would.
func publishChunks(t *testing.T, b *stagemem.Bus, job string, set protocol.Settings, px [][]byte, which ...int) {
	t.Helper()
	for _, i := range which {
		env := fixture.Envelope(t, job, protocol.StageVAEDecode, set, i, len(px), protocol.FramesBody{Frames: protocol.U8Tensor(px[i], 16, 64, 64, 3)})
		if _, err := b.Publish(t.Context(), protocol.FramesSubject(job, i), env); err != nil {
			t.Fatal(err)
		}
	}
}

func framesHash(px [][]byte) string {
	sum := sha256.New()
	for _, c := range px {
		sum.Write(c)
	}
	return hex.EncodeToString(sum.Sum(nil))
}

// checkVideo checks the video message, the stored objects and the events
// of a job that succeeded.
func checkVideo(t *testing.T, b *stagemem.Bus, job string, set protocol.Settings, px [][]byte, fps int) {
	t.Helper()
	env, err := b.Message(protocol.VideoSubject(job))
	if err != nil {
		t.Fatal(err)
	}
	if env.Stage != protocol.StageEncode || env.Settings != set || env.Count != 0 {
		t.Errorf("video envelope %+v", env)
	}
	var body protocol.VideoBody
	if err := env.DecodeBody(&body); err != nil {
		t.Fatal(err)
	}
	v := body.Video
	if v.FramesSHA256 != framesHash(px) {
		t.Errorf("frames hash %s, want %s (chunks out of order or altered)", v.FramesSHA256, framesHash(px))
	}
	if v.Frames != set.Frames || v.FPS != fps || v.Width != 64 || v.Height != 64 || v.Encoder != "purego" {
		t.Errorf("video %+v, want %d frames 64x64 at %d fps from purego", v, set.Frames, fps)
	}
	mp4, err := b.Blob(protocol.VideoObject(job))
	if err != nil || v.Object != protocol.VideoObject(job) || len(mp4.Data) != v.Bytes || mp4.Meta["job"] != job {
		t.Errorf("stored %s: %d bytes meta %v (%v); video says %s, %d bytes", protocol.VideoObject(job), len(mp4.Data), mp4.Meta, err, v.Object, v.Bytes)
	}
	if !strings.Contains(string(mp4.Data[:min(len(mp4.Data), 16)]), "ftyp") {
		t.Errorf("stored video is not an MP4: % x", mp4.Data[:min(len(mp4.Data), 16)])
	}
	for _, name := range []string{v.Poster, v.GIF} {
		if _, err := b.Blob(name); name == "" || err != nil {
			t.Errorf("preview %q: %v", name, err)
		}
	}
	var muxed []int
	var last protocol.Event
	for _, ev := range b.Events(job) {
		if ev.Kind == protocol.EventChunk {
			muxed = append(muxed, ev.Chunk)
		}
		last = ev
	}
	if want := []int{0, 1, 2}[:len(px)]; !slices.Equal(muxed, want) {
		t.Errorf("muxed chunks %v, want %v in order", muxed, want)
	}
	if last.Kind != protocol.EventSucceeded || last.Video == nil || *last.Video != v {
		t.Errorf("last event %+v, want succeeded with the video", last)
	}
}

func TestHandlerOutputs(t *testing.T) {
	h := pureGo(t)
	var cache frameCache
	for _, c := range []struct {
		name  string
		order []int // publishing order; chunk 0 is delivered
		fps   int   // the job's
	}{
		{"InOrder", []int{0, 1, 2}, 0},
		{"LaterChunksFirst", []int{2, 1, 0}, 0},
		{"Chunk0Between", []int{1, 0, 2}, 0},
		{"JobFPS", []int{0, 1, 2}, 12},
	} {
		t.Run(c.name, func(t *testing.T) {
			const job = "e1"
			set := fixture.Settings(3, 1)
			set.FPS = c.fps
			px := cache.of(t, set)
			b := stagemem.New()
			publishChunks(t, b, job, set, px, c.order...)
			if _, err := b.Handle(t.Context(), h, protocol.FramesSubject(job, 0), stagemem.Options{}); err != nil {
				t.Fatal(err)
			}
			fps := c.fps
			if fps == 0 {
				fps = fixture.Engine(t).Config().FPS
			}
			checkVideo(t, b, job, set, px, fps)
		})
	}
}

// Encode starts on the delivered chunk 0 and follows the others as they
// are published, in any order.
func TestHandlerFollowsLaterChunks(t *testing.T) {
	h := pureGo(t)
	const job = "early-1"
	set := fixture.Settings(3, 1)
	px := framesOf(t, set)
	b := stagemem.New()
	publishChunks(t, b, job, set, px, 0)
	muxed := make(chan int, 3)
	done := make(chan error, 1)
	go func() {
		_, err := b.Handle(t.Context(), h, protocol.FramesSubject(job, 0), stagemem.Options{OnReport: func(ev protocol.Event) {
			if ev.Kind == protocol.EventChunk {
				muxed <- ev.Chunk
			}
		}})
		done <- err
	}()
	if got := <-muxed; got != 0 {
		t.Fatalf("muxed chunk %d first, want 0", got)
	}
	if b.Has(protocol.VideoSubject(job)) {
		t.Fatal("video published with chunks 1 and 2 missing")
	}
	publishChunks(t, b, job, set, px, 2)
	select {
	case c := <-muxed:
		t.Fatalf("muxed chunk %d before chunk 1 arrived", c)
	case err := <-done:
		t.Fatalf("handler returned %v before chunk 1 arrived", err)
	default:
	}
	publishChunks(t, b, job, set, px, 1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkVideo(t, b, job, set, px, 8)
}

func TestHandlerRefusesBadInput(t *testing.T) {
	set := fixture.Settings(2, 1)
	px := framesOf(t, set)
	frames := func(shape ...int) protocol.FramesBody {
		n := 1
		for _, d := range shape {
			n *= d
		}
		return protocol.FramesBody{Frames: protocol.U8Tensor(make([]byte, n), shape...)}
	}
	sized, err := encode.New(encode.Config{Width: 64, Height: 64, FramesPerChunk: 16, FPS: 8, FFmpeg: "none", WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	noFPS, err := encode.New(encode.Config{FFmpeg: "none", WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		handler stages.Handler // nil = from the descriptor
		chunk   int            // the chunk to replace
		env     func(env *protocol.Envelope)
		raw     []byte // published on the chunk's subject instead
		reason  string
	}{
		{name: "Chunk0Channels", env: body(frames(16, 64, 64, 4)),
			reason: "reel.frames.bad-1.0: malformed message: frames tensor shape [16 64 64 4], want [frames, height, width, 3]"},
		{name: "Chunk0DType", env: body(protocol.FramesBody{Frames: protocol.F32Tensor(make([]float32, 16*64*64*3), 16, 64, 64, 3)}),
			reason: `malformed message: tensor dtype "f32", want "u8"`},
		{name: "Chunk0EmptyFrames", env: body(frames(0, 64, 64, 3)), reason: "frames per chunk 0"},
		{name: "CountDisagreesWithSettings", env: func(e *protocol.Envelope) { e.Count = 3 }, reason: "frames chunk count 3, settings say 2"},
		{name: "Chunk0OtherGeometryThanConfigured", handler: sized, env: body(frames(16, 32, 48, 3)),
			reason: "frames tensor shape [16 32 48 3]: height 32, this stage encodes 64"},
		{name: "LaterChunkOtherGeometry", chunk: 1, env: body(frames(16, 32, 32, 3)),
			reason: "reel.frames.bad-1.1: malformed message: tensor shape [16 32 32 3], want [16 64 64 3]"},
		{name: "LaterChunkNamesAnother", chunk: 1, env: func(e *protocol.Envelope) { e.Chunk = 0 },
			reason: "reel.frames.bad-1.1: envelope names chunk 0"},
		{name: "LaterChunkOfAnotherJob", chunk: 1, env: func(e *protocol.Envelope) { e.Job = "other" },
			reason: `reel.frames.bad-1.1: chunk 1 of 2 for job "other"`},
		{name: "LaterChunkUndecodable", chunk: 1, raw: []byte{0xc1},
			reason: "frames of bad-1: reel.frames.bad-1.1: malformed message: envelope"},
		{name: "NoFPS", handler: noFPS, reason: "fps: the job names none"},
	} {
		t.Run(c.name, func(t *testing.T) {
			const job = "bad-1"
			h := c.handler
			if h == nil {
				h = pureGo(t)
			}
			b := stagemem.New()
			for i := range px {
				env := fixture.Envelope(t, job, protocol.StageVAEDecode, set, i, len(px), protocol.FramesBody{Frames: protocol.U8Tensor(px[i], 16, 64, 64, 3)})
				data, err := env.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				if i == c.chunk {
					if c.env != nil {
						c.env(env)
					}
					if data, err = env.Marshal(); err != nil {
						t.Fatal(err)
					}
					if c.raw != nil {
						data = c.raw
					}
				}
				b.PublishRaw(protocol.FramesSubject(job, i), data)
			}
			_, err := b.Handle(t.Context(), h, protocol.FramesSubject(job, 0), stagemem.Options{})
			if !stages.IsPermanent(err) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("error %v: want a permanent one naming %q", err, c.reason)
			}
			if b.Has(protocol.VideoSubject(job)) {
				t.Error("published a video for a bad input")
			}
			if _, err := b.Blob(protocol.VideoObject(job)); !errors.Is(err, protocol.ErrMissing) {
				t.Errorf("stored a video for a bad input (%v)", err)
			}
		})
	}
}

func body(v any) func(*protocol.Envelope) {
	return func(e *protocol.Envelope) {
		if err := e.SetBody(v); err != nil {
			panic(err)
		}
	}
}

// A job cancelled while encode waits for a chunk stops and stores nothing.
func TestHandlerCancelled(t *testing.T) {
	h := pureGo(t)
	const job = "cancel-1"
	set := fixture.Settings(2, 1)
	b := stagemem.New()
	publishChunks(t, b, job, set, framesOf(t, set), 0)
	cause := errors.New("job cancelled")
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	_, err := b.Handle(ctx, h, protocol.FramesSubject(job, 0), stagemem.Options{OnReport: func(ev protocol.Event) {
		if ev.Kind == protocol.EventChunk && ev.Chunk == 0 {
			cancel(cause)
		}
	}})
	if !errors.Is(err, cause) || stages.IsPermanent(err) {
		t.Fatalf("error %v: want the cancel cause, not permanent", err)
	}
	if b.Has(protocol.VideoSubject(job)) {
		t.Error("published a video after the cancel")
	}
	if _, err := b.Blob(protocol.VideoObject(job)); !errors.Is(err, protocol.ErrMissing) {
		t.Errorf("stored a video after the cancel (%v)", err)
	}
}

// The one codec a job may name is the one the video library writes by
// default.
func TestCodecIsTheVideoDefault(t *testing.T) {
	if protocol.CodecH264 != video.DefaultCodec {
		t.Errorf("protocol codec %q, video default %q", protocol.CodecH264, video.DefaultCodec)
	}
}
