package encode_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/encode"
	"github.com/reel-video/reel/stages/stagetest"
)

// handler is the encode stage on the real video library (ffmpeg when
// installed), with the engine's frame geometry.
func handler(t testing.TB) stages.Handler {
	c := stagetest.Engine(t).Config()
	h, err := encode.New(encode.Config{Width: c.Width, Height: c.Height, FPS: c.FPS,
		FramesPerChunk: c.FramesPerChunk, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// fixtures decodes the engine's frames once per settings for the whole test.
type fixtures struct {
	frames stagetest.PerSettings[[][]byte]
}

func (f *fixtures) chunks(t testing.TB, set protocol.Settings) [][]byte {
	return f.frames.Get(set, func() [][]byte { return stagetest.Frames(t, stagetest.Prompt(), set) })
}

// inputs: every chunk's frames as vaedecode publishes them, chunk 0 (the
// trigger) first.
func (f *fixtures) inputs(t testing.TB, job string, set protocol.Settings) []stagetest.Input {
	px := f.chunks(t, set)
	var in []stagetest.Input
	for i, chunk := range px {
		body := protocol.FramesBody{Frames: protocol.U8Tensor(chunk, 16, 64, 64, 3)}
		in = append(in, stagetest.Input{Subject: protocol.FramesSubject(job, i),
			Env: stagetest.Envelope(t, job, protocol.StageVAEDecode, set, i, len(px), body)})
	}
	return in
}

// outputs: one video message describing the stored MP4, whose frames hash is
// that of every input frame in chunk order.
func (f *fixtures) outputs(t testing.TB, job string, set protocol.Settings) []stagetest.Want {
	sum := sha256.New()
	for _, chunk := range f.chunks(t, set) {
		sum.Write(chunk)
	}
	hash := hex.EncodeToString(sum.Sum(nil))
	return []stagetest.Want{{Subject: protocol.VideoSubject(job), Body: func(body []byte) error {
		var got protocol.VideoBody
		if err := (&protocol.Envelope{Body: body}).DecodeBody(&got); err != nil {
			return err
		}
		v := got.Video
		switch {
		case v.FramesSHA256 != hash:
			return fmt.Errorf("frames hash %s, want %s (frames out of order or altered)", v.FramesSHA256, hash)
		case v.Object != protocol.VideoObject(job) || v.Poster != protocol.PosterObject(job) || v.GIF != protocol.GIFObject(job):
			return fmt.Errorf("objects %q %q %q", v.Object, v.Poster, v.GIF)
		case v.Frames != set.Frames || v.FPS != 8 || v.Width != 64 || v.Height != 64 || v.Bytes == 0:
			return fmt.Errorf("video %+v, want %d frames 64x64 at 8 fps", v, set.Frames)
		case v.Encoder != "ffmpeg" && v.Encoder != "purego":
			return fmt.Errorf("encoder %q", v.Encoder)
		}
		return nil
	}}}
}

// artifacts are the job's stored MP4, poster and GIF.
func artifacts(t testing.TB, e *stagetest.Env, job string) map[string][]byte {
	out := map[string][]byte{}
	for _, name := range []string{protocol.VideoObject(job), protocol.PosterObject(job), protocol.GIFObject(job)} {
		data, err := e.Bus.GetBlob(t.Context(), name)
		if err == nil {
			out[name] = data
		}
	}
	return out
}

// progress: chunks muxed in order, the job succeeded with the video.
func progress(t testing.TB, set protocol.Settings, j *orchestrator.Job, evs []protocol.Event) {
	var chunks []int
	for _, ev := range evs {
		if ev.Kind == protocol.EventChunk && ev.Stage == protocol.StageEncode {
			chunks = append(chunks, ev.Chunk)
		}
	}
	if !slices.Equal(chunks, []int{0, 1}) || j.State != protocol.StateSucceeded || j.Video == nil || j.Video.Object != protocol.VideoObject(j.ID) {
		t.Errorf("muxed chunks %v, job %s video %+v", chunks, j.Summary(), j.Video)
	}
}

// chunk rewrites input i.
func chunk(i int, fn func(t testing.TB, x *stagetest.Input)) func(testing.TB, []stagetest.Input) []stagetest.Input {
	return func(t testing.TB, in []stagetest.Input) []stagetest.Input {
		out := stagetest.CloneInputs(in)
		fn(t, &out[i])
		return out
	}
}

func badShape(t testing.TB, x *stagetest.Input) {
	stagetest.SetBody(t, x, protocol.FramesBody{Frames: protocol.U8Tensor(make([]byte, 16*64*64*4), 16, 64, 64, 4)})
}

func TestConformance(t *testing.T) {
	f := &fixtures{}
	stagetest.Run(t, stagetest.Stage{
		Name:      protocol.StageEncode,
		Handler:   handler,
		Settings:  stagetest.Settings(2, 2),
		Inputs:    f.inputs,
		Outputs:   f.outputs,
		Artifacts: artifacts,
		Progress:  progress,
		Malformed: []stagetest.Malformed{
			{Name: "FramesShape", Reason: "reel.frames.poison-1.0: malformed message: frames tensor shape [16 64 64 4], want [frames, height, width, 3]",
				Corrupt: chunk(0, badShape)},
			{Name: "FramesDType", Reason: `malformed message: tensor dtype "f32", want "u8"`,
				Corrupt: chunk(0, func(t testing.TB, x *stagetest.Input) {
					stagetest.SetBody(t, x, protocol.FramesBody{Frames: protocol.F32Tensor(make([]float32, 16*64*64*3), 16, 64, 64, 3)})
				})},
			{Name: "CountDisagreesWithSettings", Reason: "frames chunk count 3, settings say 2",
				Corrupt: chunk(0, func(t testing.TB, x *stagetest.Input) { x.Env.Count = 3 })},
			{Name: "TriggerChunkDisagreesWithSubject", Reason: "reel.frames.poison-1.0: envelope names chunk 1",
				Corrupt: chunk(0, func(t testing.TB, x *stagetest.Input) { x.Env.Chunk = 1 })},
			{Name: "LaterChunkDisagreesWithSubject", Reason: "reel.frames.poison-1.1: envelope names chunk 0",
				Corrupt: chunk(1, func(t testing.TB, x *stagetest.Input) { x.Env.Chunk = 0 })},
			// A later chunk is read by the handler itself, not the runner:
			// the job still fails with the chunk's subject and reason.
			{Name: "LaterChunkShape", Reason: "reel.frames.poison-1.1: malformed message: tensor shape [16 64 64 4]",
				Corrupt: chunk(1, badShape)},
		},
		Cancel: &stagetest.CancelPoint{
			Settings: stagetest.Settings(2, 2),
			// Only chunk 0 is there: encode muxes it and waits for chunk 1.
			Publish: func(in []stagetest.Input) []stagetest.Input { return in[:1] },
			Reached: func(ev protocol.Event) bool {
				return ev.Kind == protocol.EventChunk && ev.Stage == protocol.StageEncode
			},
		},
		Extras: []stagetest.Extra{
			{Name: "StartsOnChunk0", Run: func(t *testing.T, e *stagetest.Env) { startsOnChunk0(t, e, f) }},
			{Name: "FFprobe", Run: func(t *testing.T, e *stagetest.Env) { probeMP4(t, e, f) }},
		},
	})
}

// startsOnChunk0: encode muxes chunk 0 before chunk 1 exists, then finishes
// once it arrives.
func startsOnChunk0(t *testing.T, e *stagetest.Env, f *fixtures) {
	const job = "early-1"
	set := stagetest.Settings(2, 2)
	in := f.inputs(t, job, set)
	e.Submit(job, set)
	e.Publish(in[0])
	j := e.WaitJob(job, func(j *orchestrator.Job) bool { return slices.Contains(j.Stages[protocol.StageEncode].Chunks, 0) })
	if j.State.Terminal() || len(e.Outputs(job)) != 0 {
		t.Fatalf("with chunk 1 missing: job %s, %d outputs", j.Summary(), len(e.Outputs(job)))
	}
	e.Publish(in[1])
	if j := e.WaitDone(job); j.State != protocol.StateSucceeded {
		t.Fatalf("job %s", j.Summary())
	}
	e.CheckOutputs(t, job, set)
}

// probeMP4: ffprobe reads the stored MP4 as H.264 yuv420p, 64×64, 8 fps, 32
// frames.
func probeMP4(t *testing.T, e *stagetest.Env, f *fixtures) {
	const job = "probe-1"
	set := stagetest.Settings(2, 2)
	e.Submit(job, set)
	e.Publish(f.inputs(t, job, set)...)
	if j := e.WaitDone(job); j.State != protocol.StateSucceeded {
		t.Fatalf("job %s", j.Summary())
	}
	mp4, err := e.Bus.GetBlob(t.Context(), protocol.VideoObject(job))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), job+".mp4")
	if err := os.WriteFile(path, mp4, 0o644); err != nil {
		t.Fatal(err)
	}
	if p, want := bustest.FFprobe(t, path), (bustest.Probe{Codec: "h264", PixFmt: "yuv420p", Size: "64x64", Rate: "8/1", Frames: "32"}); p != want {
		t.Errorf("ffprobe: %+v, want %+v", p, want)
	}
}
