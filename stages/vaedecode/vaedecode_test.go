package vaedecode_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/pipeline"
	"github.com/reel-video/reel/stages/stagetest"
	"github.com/reel-video/reel/stages/vaedecode"
)

func handler(t testing.TB) stages.Handler {
	h, err := pipeline.Handler(vaedecode.Descriptor(), pipeline.Options{Engine: pipeline.GoEngine(stagetest.Engine(t))})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// fixtures samples the latent once per settings for the whole test (the
// suite asks for inputs of many jobs).
type fixtures struct {
	latent stagetest.PerSettings[[][]float32]
}

func (f *fixtures) latents(t testing.TB, set protocol.Settings) [][]float32 {
	return f.latent.Get(set, func() [][]float32 { return stagetest.Latents(t, stagetest.Prompt(), set) })
}

// inputs: the engine's latent chunks, chunk 0 first, as denoise publishes them.
func (f *fixtures) inputs(t testing.TB, job string, set protocol.Settings) []stagetest.Input {
	lat := f.latents(t, set)
	var in []stagetest.Input
	for i, chunk := range lat {
		body := protocol.LatentBody{Latent: protocol.F32Tensor(chunk, 8, 4, 8, 8)}
		in = append(in, stagetest.Input{Subject: protocol.LatentSubject(job, i),
			Env: stagetest.Envelope(t, job, protocol.StageDenoise, set, i, len(lat), body)})
	}
	return in
}

// outputs: one frames message per chunk, each exactly the engine's decode.
func (f *fixtures) outputs(t testing.TB, job string, set protocol.Settings) []stagetest.Want {
	lat := f.latents(t, set)
	var out []stagetest.Want
	for i, chunk := range lat {
		want := stagetest.DecodeChunk(t, chunk)
		out = append(out, stagetest.Want{Subject: protocol.FramesSubject(job, i), Chunk: i, Count: len(lat), Body: func(body []byte) error {
			var got protocol.FramesBody
			if err := (&protocol.Envelope{Body: body}).DecodeBody(&got); err != nil {
				return err
			}
			px, err := got.Frames.Bytes(16, 64, 64, 3)
			if err != nil {
				return err
			}
			if !bytes.Equal(px, want) {
				return fmt.Errorf("frames of chunk %d differ from the engine's decode", i)
			}
			return nil
		}})
	}
	return out
}

func progress(t testing.TB, set protocol.Settings, j *orchestrator.Job, evs []protocol.Event) {
	var chunks []int
	for _, ev := range evs {
		if ev.Kind == protocol.EventChunk && ev.Stage == protocol.StageVAEDecode {
			chunks = append(chunks, ev.Chunk)
		}
	}
	if want := []int{0, 1}; !slices.Equal(chunks, want) || !slices.Equal(j.Stages[protocol.StageVAEDecode].Chunks, want) {
		t.Errorf("chunk events %v, record %v, want %v", chunks, j.Stages[protocol.StageVAEDecode].Chunks, want)
	}
}

// first rewrites the first input (chunk 0).
func first(fn func(t testing.TB, x *stagetest.Input)) func(testing.TB, []stagetest.Input) []stagetest.Input {
	return func(t testing.TB, in []stagetest.Input) []stagetest.Input {
		out := stagetest.CloneInputs(in)
		fn(t, &out[0])
		return out
	}
}

func TestConformance(t *testing.T) {
	f := &fixtures{}
	stagetest.Run(t, stagetest.Stage{
		Name:     protocol.StageVAEDecode,
		Handler:  handler,
		Settings: stagetest.Settings(2, 2),
		Inputs:   f.inputs,
		Outputs:  f.outputs,
		Progress: progress,
		Malformed: []stagetest.Malformed{
			{Name: "LatentShape", Reason: "latent chunk: malformed message: tensor shape [8 4 8 7], want [8 4 8 8]",
				Corrupt: first(func(t testing.TB, x *stagetest.Input) {
					stagetest.SetBody(t, x, protocol.LatentBody{Latent: protocol.F32Tensor(make([]float32, 8*4*8*7), 8, 4, 8, 7)})
				})},
			{Name: "LatentDType", Reason: `latent chunk: malformed message: tensor dtype "u8", want "f32"`,
				Corrupt: first(func(t testing.TB, x *stagetest.Input) {
					stagetest.SetBody(t, x, protocol.LatentBody{Latent: protocol.U8Tensor(make([]byte, 8*4*8*8), 8, 4, 8, 8)})
				})},
			{Name: "ChunkOutOfRange", Reason: "chunk 2 of 2 does not fit 32 frames",
				Corrupt: first(func(t testing.TB, x *stagetest.Input) {
					x.Subject, x.Env.Chunk = protocol.LatentSubject(x.Env.Job, 2), 2
				})},
			// The envelope's chunk index must be the subject's: trusting
			// it would write chunk 0's frames as chunk 1 and leave chunk 0
			// missing forever.
			{Name: "ChunkDisagreesWithSubject", Reason: "reel.latent.poison-1.0: envelope names chunk 1",
				Corrupt: first(func(t testing.TB, x *stagetest.Input) { x.Env.Chunk = 1 })},
			{Name: "CountDisagreesWithSettings", Reason: "chunk 0 of 3 does not fit 32 frames",
				Corrupt: first(func(t testing.TB, x *stagetest.Input) { x.Env.Count = 3 })},
		},
		Extras: []stagetest.Extra{{Name: "ChunkAlone", Run: func(t *testing.T, e *stagetest.Env) { chunkAlone(t, e, f) }}},
	})
}

// chunkAlone: a chunk decodes without its job's other chunks (any replica
// decodes any chunk): chunk 1 alone gives the frames it gives in a full job.
func chunkAlone(t *testing.T, e *stagetest.Env, f *fixtures) {
	const job = "alone-1"
	set := stagetest.Settings(2, 2)
	e.Submit(job, set)
	e.Publish(f.inputs(t, job, set)[1])
	j := e.WaitJob(job, func(j *orchestrator.Job) bool { return len(j.Stages[protocol.StageVAEDecode].Chunks) == 1 })
	if s := j.Stages[protocol.StageVAEDecode]; s.Chunks[0] != 1 || s.State != protocol.StateRunning {
		t.Fatalf("stage record %+v: want chunk 1 done, stage still running", s)
	}
	e.Settled()
	outs := e.Outputs(job)
	if len(outs) != 1 {
		t.Fatalf("outputs %d, want 1", len(outs))
	}
	if err := f.outputs(t, job, set)[1].Body(outs[protocol.FramesSubject(job, 1)].Env.Body); err != nil {
		t.Fatal(err)
	}
}
