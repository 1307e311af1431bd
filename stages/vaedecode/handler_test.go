package vaedecode_test

// Unit tests of the handler on the in-memory delivery: no NATS server.

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/stagemem"
	"github.com/reel-video/reel/stages/stagetest/fixture"
	"github.com/reel-video/reel/stages/vaedecode"
)

func newHandler(t *testing.T) stages.Handler {
	return fixture.Handler(t, vaedecode.Descriptor(), stages.OutputDefaults{})
}

// latentInput publishes a latent chunk message on a new bus.
func latentInput(t *testing.T, job string, set protocol.Settings, chunk, count int, body any) *stagemem.Bus {
	t.Helper()
	b := stagemem.New()
	env := fixture.Envelope(t, job, protocol.StageDenoise, set, chunk, count, body)
	if _, err := b.Publish(t.Context(), protocol.LatentSubject(job, chunk), env); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandlerOutputs(t *testing.T) {
	h := newHandler(t)
	set := fixture.Settings(2, 2)
	lat := fixture.Latents(t, fixture.Prompt(), set)
	for i, chunk := range lat {
		const job = "v1"
		b := latentInput(t, job, set, i, len(lat), protocol.LatentBody{Latent: protocol.F32Tensor(chunk, 8, 4, 8, 8)})
		if _, err := b.Handle(t.Context(), h, protocol.LatentSubject(job, i), stagemem.Options{Attempt: 2}); err != nil {
			t.Fatal(err)
		}
		subj := protocol.FramesSubject(job, i)
		if got := b.Subjects(); !slices.Equal(got, []string{protocol.LatentSubject(job, i), subj}) {
			t.Fatalf("subjects %v", got)
		}
		env, err := b.Message(subj)
		if err != nil {
			t.Fatal(err)
		}
		if env.Chunk != i || env.Count != 2 || env.Stage != protocol.StageVAEDecode || env.Attempt != 2 || env.Settings != set {
			t.Errorf("chunk %d envelope %+v", i, env)
		}
		var body protocol.FramesBody
		if err := env.DecodeBody(&body); err != nil {
			t.Fatal(err)
		}
		px, err := body.Frames.Bytes(16, 64, 64, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(px, fixture.DecodeChunk(t, chunk)) {
			t.Errorf("chunk %d frames differ from the engine's", i)
		}
		evs := b.Events(job)
		if last := evs[len(evs)-1]; last.Kind != protocol.EventChunk || last.Chunk != i || last.Count != 2 {
			t.Errorf("last event %+v, want chunk %d of 2", last, i)
		}
	}
}

func TestHandlerRefusesBadInput(t *testing.T) {
	h := newHandler(t)
	set := fixture.Settings(2, 2)
	good := protocol.LatentBody{Latent: protocol.F32Tensor(make([]float32, 8*4*8*8), 8, 4, 8, 8)}
	for _, c := range []struct {
		name         string
		chunk, count int
		body         any
		reason       string
	}{
		{"CountDisagreesWithSettings", 0, 3, good, "chunk 0 of 3 does not fit 32 frames"},
		{"ChunkPastCount", 2, 2, good, "chunk 2 of 2 does not fit 32 frames"},
		{"LatentShape", 0, 2, protocol.LatentBody{Latent: protocol.F32Tensor(make([]float32, 8*4*8*7), 8, 4, 8, 7)},
			"latent chunk: malformed message: tensor shape [8 4 8 7], want [8 4 8 8]"},
		{"LatentDType", 0, 2, protocol.LatentBody{Latent: protocol.U8Tensor(make([]byte, 8*4*8*8*4), 8, 4, 8, 32)},
			`latent chunk: malformed message: tensor dtype "u8", want "f32"`},
		{"BodyNotLatent", 0, 2, []string{"x"}, "malformed message: body"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := latentInput(t, "bad-1", set, c.chunk, c.count, c.body)
			_, err := b.Handle(t.Context(), h, protocol.LatentSubject("bad-1", c.chunk), stagemem.Options{})
			if !stages.IsPermanent(err) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("error %v: want a permanent one naming %q", err, c.reason)
			}
			if len(b.Subjects()) != 1 {
				t.Errorf("published %v for a bad input", b.Subjects()[1:])
			}
		})
	}
}

func TestHandlerCancelled(t *testing.T) {
	h := newHandler(t)
	set := fixture.Settings(1, 2)
	b := latentInput(t, "cancel-1", set, 0, 1, protocol.LatentBody{Latent: protocol.F32Tensor(make([]float32, 8*4*8*8), 8, 4, 8, 8)})
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(errors.New("job cancelled"))
	_, err := b.Handle(ctx, h, protocol.LatentSubject("cancel-1", 0), stagemem.Options{})
	if !errors.Is(err, context.Canceled) || stages.IsPermanent(err) {
		t.Fatalf("error %v: want the cancellation, not permanent", err)
	}
	if b.Has(protocol.FramesSubject("cancel-1", 0)) || len(b.Events("cancel-1")) != 0 {
		t.Error("wrote after the cancel")
	}
}
