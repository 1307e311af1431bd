package textenc_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/pipeline"
	"github.com/reel-video/reel/stages/stagetest"
	"github.com/reel-video/reel/stages/textenc"
)

func handler(t testing.TB) stages.Handler {
	h, err := pipeline.Handler(textenc.Descriptor(), pipeline.Options{Engine: pipeline.GoEngine(stagetest.Engine(t))})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func inputs(t testing.TB, job string, set protocol.Settings) []stagetest.Input {
	return []stagetest.Input{{Subject: protocol.PromptSubject(job),
		Env: stagetest.Envelope(t, job, "submit", set, 0, 0, stagetest.Prompt())}}
}

// outputs: one text message whose embeddings are the engine's, exactly,
// carrying the job's settings with the model's fps resolved.
func outputs(t testing.TB, job string, set protocol.Settings) []stagetest.Want {
	want := stagetest.Text(t, stagetest.Prompt())
	resolved := set
	if resolved.FPS == 0 {
		resolved.FPS = stagetest.Engine(t).Config().FPS
	}
	if resolved.Model == "" {
		resolved.Model = stagetest.Engine(t).Config().Name
	}
	return []stagetest.Want{{Subject: protocol.TextSubject(job), Settings: &resolved, Body: func(body []byte) error {
		var got protocol.TextBody
		if err := (&protocol.Envelope{Body: body}).DecodeBody(&got); err != nil {
			return err
		}
		for _, x := range []protocol.Tensor{got.Cond, got.Uncond} {
			if _, err := x.Float32s(96, 256); err != nil {
				return err
			}
		}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("embeddings differ from the engine's")
		}
		return nil
	}}}
}

func progress(t testing.TB, _ protocol.Settings, j *orchestrator.Job, evs []protocol.Event) {
	if !slices.ContainsFunc(evs, func(ev protocol.Event) bool {
		return ev.Kind == protocol.EventDone && ev.Stage == protocol.StageTextEnc
	}) {
		t.Errorf("no done event from textenc: %+v", evs)
	}
	if j.State != protocol.StateRunning {
		t.Errorf("job %s after textenc, want running", j.State)
	}
}

func withRequest(req any) func(testing.TB, []stagetest.Input) []stagetest.Input {
	return func(t testing.TB, in []stagetest.Input) []stagetest.Input {
		out := stagetest.CloneInputs(in)
		stagetest.SetBody(t, &out[0], req)
		return out
	}
}

func TestConformance(t *testing.T) {
	stagetest.Run(t, stagetest.Stage{
		Name:     protocol.StageTextEnc,
		Handler:  handler,
		Settings: stagetest.Settings(1, 2),
		Inputs:   inputs,
		Outputs:  outputs,
		Progress: progress,
		Malformed: []stagetest.Malformed{
			{Name: "EmptyPrompt", Corrupt: withRequest(protocol.Request{}), Reason: "prompt: is empty"},
			{Name: "PromptTooLong", Corrupt: withRequest(protocol.Request{Prompt: strings.Repeat("a", protocol.MaxPromptBytes+1)}),
				Reason: "prompt: is 2049 bytes, the limit is 2048"},
			{Name: "BodyNotARequest", Corrupt: withRequest([]int{1, 2, 3}), Reason: "malformed message: body"},
		},
		Extras: []stagetest.Extra{{Name: "NegativePromptOnlyChangesUncond", Run: negativeOnlyUncond}},
	})
}

// The negative prompt feeds the uncond embedding only: two jobs differing
// only in it share cond and differ in uncond.
func negativeOnlyUncond(t *testing.T, e *stagetest.Env) {
	set := stagetest.Settings(1, 2)
	bodies := map[string]protocol.TextBody{}
	for job, neg := range map[string]string{"neg-a": "blurry", "neg-b": "dark"} {
		e.SubmitRequest(job, protocol.Request{Prompt: stagetest.Prompt().Prompt, Negative: neg}, set)
		e.WaitDone(job)
		var b protocol.TextBody
		if err := e.Outputs(job)[protocol.TextSubject(job)].Env.DecodeBody(&b); err != nil {
			t.Fatal(err)
		}
		bodies[job] = b
	}
	a, b := bodies["neg-a"], bodies["neg-b"]
	if !reflect.DeepEqual(a.Cond, b.Cond) || reflect.DeepEqual(a.Uncond, b.Uncond) {
		t.Fatal("the negative prompt must change uncond and only uncond")
	}
}
