package textenc_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/pipeline"
	"github.com/reel-video/reel/stages/stagetest"
)

func handler(t testing.TB) stages.Handler {
	h, err := pipeline.Handler(bus.StageTextEnc, pipeline.Options{Engine: stagetest.Engine(t)})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func inputs(t testing.TB, job string, set bus.Settings) []stagetest.Input {
	return []stagetest.Input{{Subject: bus.PromptSubject(job),
		Env: stagetest.Envelope(t, job, "submit", set, 0, 0, stagetest.Prompt())}}
}

// outputs: one text message whose embeddings are the engine's, exactly.
func outputs(t testing.TB, job string, set bus.Settings) []stagetest.Want {
	want := stagetest.Text(t, stagetest.Prompt())
	return []stagetest.Want{{Subject: bus.TextSubject(job), Body: func(body []byte) error {
		var got bus.TextBody
		if err := (&bus.Envelope{Body: body}).DecodeBody(&got); err != nil {
			return err
		}
		for _, x := range []bus.Tensor{got.Cond, got.Uncond} {
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

func progress(t testing.TB, _ bus.Settings, j *orchestrator.Job, evs []bus.Event) {
	if !slices.ContainsFunc(evs, func(ev bus.Event) bool { return ev.Kind == bus.EventDone && ev.Stage == bus.StageTextEnc }) {
		t.Errorf("no done event from textenc: %+v", evs)
	}
	if j.State != bus.StateRunning {
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
		Name:     bus.StageTextEnc,
		Handler:  handler,
		Settings: stagetest.Settings(1, 2),
		Inputs:   inputs,
		Outputs:  outputs,
		Progress: progress,
		Malformed: []stagetest.Malformed{
			{Name: "EmptyPrompt", Corrupt: withRequest(bus.Request{}), Reason: "prompt: is empty"},
			{Name: "PromptTooLong", Corrupt: withRequest(bus.Request{Prompt: strings.Repeat("a", bus.MaxPromptBytes+1)}),
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
	bodies := map[string]bus.TextBody{}
	for job, neg := range map[string]string{"neg-a": "blurry", "neg-b": "dark"} {
		e.SubmitRequest(job, bus.Request{Prompt: stagetest.Prompt().Prompt, Negative: neg}, set)
		e.WaitDone(job)
		var b bus.TextBody
		if err := e.Outputs(job)[bus.TextSubject(job)].Env.DecodeBody(&b); err != nil {
			t.Fatal(err)
		}
		bodies[job] = b
	}
	a, b := bodies["neg-a"], bodies["neg-b"]
	if !reflect.DeepEqual(a.Cond, b.Cond) || reflect.DeepEqual(a.Uncond, b.Uncond) {
		t.Fatal("the negative prompt must change uncond and only uncond")
	}
}
