package textenc_test

// Unit tests of the handler on the in-memory delivery: no NATS server.

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/stagemem"
	"github.com/reel-video/reel/stages/stagetest/fixture"
	"github.com/reel-video/reel/stages/textenc"
)

// prompt publishes job's prompt message with body on a new bus.
func prompt(t *testing.T, job string, set protocol.Settings, body any) *stagemem.Bus {
	t.Helper()
	b := stagemem.New()
	if _, err := b.Publish(t.Context(), protocol.PromptSubject(job), fixture.Envelope(t, job, "submit", set, 0, 0, body)); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandlerOutputs(t *testing.T) {
	h := fixture.Handler(t, textenc.Descriptor(), stages.OutputDefaults{})
	fps := fixture.Engine(t).Config().FPS
	for _, c := range []struct {
		name    string
		fps     int // the job's
		attempt int
		wantFPS int
	}{
		{"ModelFPSResolved", 0, 1, fps},
		{"JobFPSKept", 12, 1, 12},
		{"Redelivered", 0, 3, fps},
	} {
		t.Run(c.name, func(t *testing.T) {
			const job = "t1"
			set := fixture.Settings(1, 2)
			set.FPS = c.fps
			b := prompt(t, job, set, fixture.Prompt())
			if _, err := b.Handle(t.Context(), h, protocol.PromptSubject(job), stagemem.Options{Attempt: c.attempt}); err != nil {
				t.Fatal(err)
			}
			if got := b.Subjects(); !slices.Equal(got, []string{protocol.PromptSubject(job), protocol.TextSubject(job)}) {
				t.Fatalf("subjects %v, want the prompt and one text message", got)
			}
			env, err := b.Message(protocol.TextSubject(job))
			if err != nil {
				t.Fatal(err)
			}
			want := set
			want.FPS = c.wantFPS
			want.Model = fixture.Engine(t).Manifest().Model // resolved at intake too
			if env.Job != job || env.Stage != protocol.StageTextEnc || env.Attempt != c.attempt || env.Chunk != 0 || env.Count != 0 || env.Settings != want {
				t.Errorf("envelope %+v, want job %s stage textenc attempt %d settings %+v", env, job, c.attempt, want)
			}
			var body protocol.TextBody
			if err := env.DecodeBody(&body); err != nil {
				t.Fatal(err)
			}
			for _, x := range []protocol.Tensor{body.Cond, body.Uncond} {
				if !slices.Equal(x.Shape, []int{96, 256}) || x.DType != protocol.DTypeF32 {
					t.Errorf("embedding %s %v, want f32 [96 256]", x.DType, x.Shape)
				}
			}
			if !reflect.DeepEqual(body, fixture.Text(t, fixture.Prompt())) {
				t.Error("embeddings differ from the engine's")
			}
			kinds := eventKinds(b.Events(job))
			if !slices.Equal(kinds, []string{protocol.EventStarted, protocol.EventDone}) {
				t.Errorf("events %v, want started, done", kinds)
			}
		})
	}
}

func eventKinds(evs []protocol.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Kind)
	}
	return out
}

func TestHandlerRefusesBadInput(t *testing.T) {
	h := fixture.Handler(t, textenc.Descriptor(), stages.OutputDefaults{})
	for _, c := range []struct {
		name   string
		body   any
		reason string
	}{
		{"EmptyPrompt", protocol.Request{}, "prompt: is empty"},
		{"PromptTooLong", protocol.Request{Prompt: strings.Repeat("a", protocol.MaxPromptBytes+1)}, "prompt: is 2049 bytes, the limit is 2048"},
		{"NegativeTooLong", protocol.Request{Prompt: "a", Negative: strings.Repeat("b", protocol.MaxPromptBytes+1)}, "negative: is 2049 bytes"},
		{"BodyNotARequest", []int{1, 2, 3}, "malformed message: body"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := prompt(t, "bad-1", fixture.Settings(1, 2), c.body)
			_, err := b.Handle(t.Context(), h, protocol.PromptSubject("bad-1"), stagemem.Options{})
			if !stages.IsPermanent(err) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("error %v: want a permanent one naming %q", err, c.reason)
			}
			if b.Has(protocol.TextSubject("bad-1")) {
				t.Error("published a text message for a bad prompt")
			}
		})
	}
}

// shortEncoder is the engine cut short: one value too few.
type shortEncoder struct{ textenc.Encoder }

func (s shortEncoder) EncodeText(ctx context.Context, p string) ([]float32, []bool, error) {
	h, m, err := s.Encoder.EncodeText(ctx, p)
	return h[:len(h)-1], m, err
}

func TestHandlerRefusesWrongEmbeddingShape(t *testing.T) {
	enc := fixture.Deps(t).Engine.(textenc.Encoder)
	h, err := textenc.New(textenc.Config{Encoder: shortEncoder{enc}, SeqLen: 96, Dim: 256, FPS: 8})
	if err != nil {
		t.Fatal(err)
	}
	b := prompt(t, "short-1", fixture.Settings(1, 2), fixture.Prompt())
	_, err = b.Handle(t.Context(), h, protocol.PromptSubject("short-1"), stagemem.Options{})
	if !stages.IsPermanent(err) || !strings.Contains(err.Error(), "encode prompt: got 24575 values") {
		t.Fatalf("error %v: want a permanent one naming the prompt's embedding size", err)
	}
}

func TestHandlerCancelled(t *testing.T) {
	h := fixture.Handler(t, textenc.Descriptor(), stages.OutputDefaults{})
	b := prompt(t, "cancel-1", fixture.Settings(1, 2), fixture.Prompt())
	cause := errors.New("job cancelled")
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(cause)
	_, err := b.Handle(ctx, h, protocol.PromptSubject("cancel-1"), stagemem.Options{})
	if err == nil || stages.IsPermanent(err) {
		t.Fatalf("error %v: want a non-permanent one", err)
	}
	if b.Has(protocol.TextSubject("cancel-1")) || len(b.Events("cancel-1")) != 0 {
		t.Error("wrote after the cancel")
	}
}
