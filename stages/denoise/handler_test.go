package denoise_test

// Unit tests of the handler on the in-memory delivery: no NATS server.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/denoise"
	"github.com/reel-video/reel/stages/stagemem"
	"github.com/reel-video/reel/stages/stagetest/fixture"
)

// textInput publishes job's text message (body) on a new bus.
func textInput(t *testing.T, job string, set protocol.Settings, body any) *stagemem.Bus {
	t.Helper()
	b := stagemem.New()
	if _, err := b.Publish(t.Context(), protocol.TextSubject(job), fixture.Envelope(t, job, protocol.StageTextEnc, set, 0, 0, body)); err != nil {
		t.Fatal(err)
	}
	return b
}

func newHandler(t *testing.T) stages.Handler {
	return fixture.Handler(t, denoise.Descriptor(), stages.OutputDefaults{})
}

// latent decodes the latent chunk on subject.
func latent(t *testing.T, b *stagemem.Bus, subject string) (*protocol.Envelope, []float32) {
	t.Helper()
	env, err := b.Message(subject)
	if err != nil {
		t.Fatal(err)
	}
	var body protocol.LatentBody
	if err := env.DecodeBody(&body); err != nil {
		t.Fatal(err)
	}
	v, err := body.Latent.Float32s(8, 4, 8, 8)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	return env, v
}

func TestHandlerOutputs(t *testing.T) {
	h := newHandler(t)
	for _, set := range []protocol.Settings{fixture.Settings(1, 2), fixture.Settings(3, 2)} {
		t.Run(fmt.Sprintf("%dChunks", set.Chunks()), func(t *testing.T) {
			const job = "d1"
			b := textInput(t, job, set, fixture.Text(t, fixture.Prompt()))
			d, err := b.Handle(t.Context(), h, protocol.TextSubject(job), stagemem.Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := fixture.Latents(t, fixture.Prompt(), set)
			subjects := []string{protocol.TextSubject(job)}
			for i := range want {
				subjects = append(subjects, protocol.LatentSubject(job, i))
			}
			if got := b.Subjects(); !slices.Equal(got, subjects) {
				t.Fatalf("subjects %v, want %v", got, subjects)
			}
			for i, w := range want {
				env, v := latent(t, b, protocol.LatentSubject(job, i))
				if env.Chunk != i || env.Count != len(want) || env.Stage != protocol.StageDenoise || env.Attempt != 1 || env.Settings != set {
					t.Errorf("chunk %d envelope %+v", i, env)
				}
				if !slices.Equal(v, w) {
					t.Errorf("latent chunk %d differs from the engine's", i)
				}
			}
			var steps []int
			var last protocol.Event
			for _, ev := range b.Events(job) {
				if ev.Kind == protocol.EventStep {
					steps = append(steps, ev.Step)
					if ev.Total != set.Steps {
						t.Errorf("step %d of %d, want of %d", ev.Step, ev.Total, set.Steps)
					}
				}
				last = ev
			}
			if !slices.Equal(steps, []int{1, 2}) || last.Kind != protocol.EventDone || last.Count != set.Chunks() {
				t.Errorf("steps %v, last event %+v: want steps 1, 2 then done with the chunk count", steps, last)
			}
			if d.Heartbeats() < set.Steps {
				t.Errorf("%d heartbeats for %d steps", d.Heartbeats(), set.Steps)
			}
		})
	}
}

// A redelivered text message whose chunks are all on the bus (the worker
// died before its ack) publishes nothing and samples nothing; with a chunk
// missing it samples again, keeps the chunks there and adds the missing one.
func TestHandlerRedelivery(t *testing.T) {
	h := newHandler(t)
	set := fixture.Settings(2, 2)
	want := fixture.Latents(t, fixture.Prompt(), set)
	first := make([]float32, 8*4*8*8) // what "the first run" published: not the engine's
	for _, c := range []struct {
		name       string
		there      []int // chunks already published
		wantSample bool
	}{
		{"AllPublished", []int{0, 1}, false},
		{"OneMissing", []int{0}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			const job = "again-1"
			b := textInput(t, job, set, fixture.Text(t, fixture.Prompt()))
			for _, i := range c.there {
				env := fixture.Envelope(t, job, protocol.StageDenoise, set, i, 2, protocol.LatentBody{Latent: protocol.F32Tensor(first, 8, 4, 8, 8)})
				if _, err := b.Publish(t.Context(), protocol.LatentSubject(job, i), env); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := b.Handle(t.Context(), h, protocol.TextSubject(job), stagemem.Options{Attempt: 2}); err != nil {
				t.Fatal(err)
			}
			sampled := slices.ContainsFunc(b.Events(job), func(ev protocol.Event) bool { return ev.Kind == protocol.EventStep })
			if sampled != c.wantSample {
				t.Errorf("sampled %v, want %v", sampled, c.wantSample)
			}
			for i := range 2 {
				env, v := latent(t, b, protocol.LatentSubject(job, i))
				switch {
				case slices.Contains(c.there, i) && (!slices.Equal(v, first) || env.Attempt != 1):
					t.Errorf("chunk %d there before was replaced (attempt %d)", i, env.Attempt)
				case !slices.Contains(c.there, i) && (!slices.Equal(v, want[i]) || env.Attempt != 2):
					t.Errorf("missing chunk %d: attempt %d, engine's values %v", i, env.Attempt, slices.Equal(v, want[i]))
				}
			}
			if evs := b.Events(job); evs[len(evs)-1].Kind != protocol.EventDone {
				t.Errorf("last event %+v, want done", evs[len(evs)-1])
			}
		})
	}
}

func TestHandlerRefusesBadInput(t *testing.T) {
	h := newHandler(t)
	good := fixture.Text(t, fixture.Prompt())
	for _, c := range []struct {
		name   string
		edit   func(b *protocol.TextBody)
		body   any // instead of the edited text body
		reason string
	}{
		{name: "CondShape", edit: func(b *protocol.TextBody) { b.Cond = protocol.F32Tensor(make([]float32, 96*255), 96, 255) },
			reason: "cond embedding: malformed message: tensor shape [96 255], want [96 256]"},
		{name: "UncondDType", edit: func(b *protocol.TextBody) { b.Uncond = protocol.U8Tensor(make([]byte, 96*256*4), 96, 256*4) },
			reason: `uncond embedding: malformed message: tensor dtype "u8", want "f32"`},
		{name: "CondMaskLength", edit: func(b *protocol.TextBody) { b.CondMask = b.CondMask[:95] },
			reason: "cond mask has 95 entries, want 96"},
		{name: "UncondMaskLength", edit: func(b *protocol.TextBody) { b.UncondMask = append(slices.Clone(b.UncondMask), true) },
			reason: "uncond mask has 97 entries, want 96"},
		{name: "CondAllMasked", edit: func(b *protocol.TextBody) { b.CondMask = make([]bool, 96) },
			reason: "prompt embedding masks every token"},
		{name: "BodyNotText", body: "text", reason: "malformed message: body"},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := c.body
			if body == nil {
				b := good
				c.edit(&b)
				body = b
			}
			b := textInput(t, "bad-1", fixture.Settings(1, 2), body)
			_, err := b.Handle(t.Context(), h, protocol.TextSubject("bad-1"), stagemem.Options{})
			if !stages.IsPermanent(err) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("error %v: want a permanent one naming %q", err, c.reason)
			}
			if len(b.Subjects()) != 1 {
				t.Errorf("published %v for a bad input", b.Subjects()[1:])
			}
		})
	}
}

// A job cancelled mid-sampling stops within one step and publishes nothing.
func TestHandlerCancelled(t *testing.T) {
	h := newHandler(t)
	const job = "cancel-1"
	set := fixture.Settings(1, 200)
	b := textInput(t, job, set, fixture.Text(t, fixture.Prompt()))
	cause := errors.New("job cancelled")
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	_, err := b.Handle(ctx, h, protocol.TextSubject(job), stagemem.Options{OnReport: func(ev protocol.Event) {
		if ev.Kind == protocol.EventStep && ev.Step == 2 {
			cancel(cause)
		}
	}})
	// The engine returns ctx.Err(); the runner reads the cause off its ctx.
	if !errors.Is(err, context.Canceled) || stages.IsPermanent(err) || context.Cause(ctx) != cause {
		t.Fatalf("error %v: want the cancellation, not permanent", err)
	}
	last := 0
	for _, ev := range b.Events(job) {
		last = max(last, ev.Step)
	}
	if last != 2 {
		t.Errorf("last step recorded %d, want 2 (the cancel)", last)
	}
	if b.Has(protocol.LatentSubject(job, 0)) {
		t.Error("published a latent after the cancel")
	}
}
