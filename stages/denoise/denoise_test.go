package denoise_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/denoise"
	"github.com/reel-video/reel/stages/pipeline"
	"github.com/reel-video/reel/stages/stagetest"
)

func handler(t testing.TB) stages.Handler {
	h, err := pipeline.Handler(denoise.Descriptor(), pipeline.Options{Engine: pipeline.GoEngine(stagetest.Engine(t))})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func inputs(t testing.TB, job string, set protocol.Settings) []stagetest.Input {
	return []stagetest.Input{{Subject: protocol.TextSubject(job),
		Env: stagetest.Envelope(t, job, protocol.StageTextEnc, set, 0, 0, stagetest.Text(t, stagetest.Prompt()))}}
}

// outputs: one latent message per chunk, each exactly the engine's chunk.
func outputs(t testing.TB, job string, set protocol.Settings) []stagetest.Want {
	lat := stagetest.Latents(t, stagetest.Prompt(), set)
	var out []stagetest.Want
	for i, want := range lat {
		out = append(out, stagetest.Want{Subject: protocol.LatentSubject(job, i), Chunk: i, Count: len(lat), Body: func(body []byte) error {
			var got protocol.LatentBody
			if err := (&protocol.Envelope{Body: body}).DecodeBody(&got); err != nil {
				return err
			}
			v, err := got.Latent.Float32s(8, 4, 8, 8)
			if err != nil {
				return err
			}
			if !slices.Equal(v, want) {
				return fmt.Errorf("latent chunk %d differs from the engine's", i)
			}
			return nil
		}})
	}
	return out
}

// progress: one step event per step, in order, and the record's step count.
func progress(t testing.TB, set protocol.Settings, j *orchestrator.Job, evs []protocol.Event) {
	var steps []int
	for _, ev := range evs {
		if ev.Kind == protocol.EventStep && ev.Stage == protocol.StageDenoise {
			if ev.Total != set.Steps {
				t.Errorf("step event %d of %d, want of %d", ev.Step, ev.Total, set.Steps)
			}
			steps = append(steps, ev.Step)
		}
	}
	want := make([]int, set.Steps)
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(steps, want) {
		t.Errorf("step events %v, want %v", steps, want)
	}
	if s := j.Stages[protocol.StageDenoise]; s.Step != set.Steps || s.Steps != set.Steps {
		t.Errorf("record at step %d/%d, want %d/%d", s.Step, s.Steps, set.Steps, set.Steps)
	}
}

// text rewrites the text body of the (single) input.
func text(fn func(b *protocol.TextBody)) func(testing.TB, []stagetest.Input) []stagetest.Input {
	return func(t testing.TB, in []stagetest.Input) []stagetest.Input {
		out := stagetest.CloneInputs(in)
		var b protocol.TextBody
		if err := out[0].Env.DecodeBody(&b); err != nil {
			t.Fatal(err)
		}
		fn(&b)
		stagetest.SetBody(t, &out[0], b)
		return out
	}
}

func TestConformance(t *testing.T) {
	stagetest.Run(t, stagetest.Stage{
		Name:     protocol.StageDenoise,
		Handler:  handler,
		Settings: stagetest.Settings(2, 3),
		Inputs:   inputs,
		Outputs:  outputs,
		Progress: progress,
		Malformed: []stagetest.Malformed{
			{Name: "CondShape", Reason: "cond embedding: malformed message: tensor shape [96 255], want [96 256]",
				Corrupt: text(func(b *protocol.TextBody) { b.Cond = protocol.F32Tensor(make([]float32, 96*255), 96, 255) })},
			{Name: "UncondDType", Reason: `uncond embedding: malformed message: tensor dtype "u8", want "f32"`,
				Corrupt: text(func(b *protocol.TextBody) { b.Uncond = protocol.U8Tensor(make([]byte, 96*256*4), 96, 256*4) })},
			{Name: "MaskLength", Reason: "cond mask has 95 entries, want 96",
				Corrupt: text(func(b *protocol.TextBody) { b.CondMask = b.CondMask[:95] })},
		},
		Cancel: &stagetest.CancelPoint{
			Settings: stagetest.Settings(1, 200),
			Reached:  func(ev protocol.Event) bool { return ev.Kind == protocol.EventStep && ev.Step >= 2 },
			Check:    stoppedWithinOneStep,
		},
		Extras: []stagetest.Extra{{Name: "HeartbeatPerStep", Run: heartbeatPerStep}},
	})
}

// stoppedWithinOneStep: step events after the cancel are not recorded in the
// job, but still appended to the stream, so the highest step on the stream
// is at most one past the recorded one.
func stoppedWithinOneStep(t testing.TB, at *orchestrator.Job, evs []protocol.Event) {
	last := 0
	for _, ev := range evs {
		if ev.Kind == protocol.EventStep && ev.Step > last {
			last = ev.Step
		}
	}
	rec := at.Stages[protocol.StageDenoise].Step
	t.Logf("cancelled at step %d of 200; the last step reported is %d", rec, last)
	if last > rec+1 || last >= 200 {
		t.Errorf("denoise reached step %d after a cancel at step %d", last, rec)
	}
}

// heartbeatPerStep: the runner tells the server the message is in progress
// at every step (+WPI on the message's ack subject), so a long denoise is
// never redelivered while it lives.
func heartbeatPerStep(t *testing.T, e *stagetest.Env) {
	acks := make(chan *nats.Msg, 1024)
	sub, err := e.Bus.NC.ChanSubscribe("$JS.ACK."+protocol.StreamName+"."+protocol.ConsumerName(protocol.StageDenoise)+".>", acks)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Bus.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	const job = "heartbeat-1"
	set := stagetest.Settings(1, 4)
	e.Submit(job, set)
	e.Publish(inputs(t, job, set)...)
	e.WaitDone(job)
	// The runner publishes heartbeats and the ack on this connection, in
	// order, before the message settled; after a flush's round trip every
	// one of them sits in the channel (a channel subscription is filled by
	// the connection's reader, in order, before it sees the PONG).
	if err := e.Bus.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = sub.Unsubscribe()
	wpi := 0
	for len(acks) > 0 {
		if m := <-acks; strings.HasPrefix(string(m.Data), "+WPI") {
			wpi++
		}
	}
	if wpi < set.Steps {
		t.Fatalf("%d in-progress heartbeats for %d steps", wpi, set.Steps)
	}
}
