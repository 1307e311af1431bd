package orchestrator

import (
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/protocol"
)

func TestJobApplyStateMachine(t *testing.T) {
	now := time.Unix(100, 0)
	j := newJob("j", now)
	ev := func(kind, stage string, mod ...func(*protocol.Event)) bool {
		e := protocol.Event{Job: "j", Stage: stage, Kind: kind, Time: now}
		for _, m := range mod {
			m(&e)
		}
		return j.apply(e)
	}
	chunk := func(i, n int) func(*protocol.Event) { return func(e *protocol.Event) { e.Chunk, e.Count = i, n } }
	ev(protocol.EventStarted, protocol.StageTextEnc)
	if j.State != protocol.StateRunning || j.Stages[protocol.StageTextEnc].State != protocol.StateRunning {
		t.Fatalf("after started: %s", j.State)
	}
	ev(protocol.EventDone, protocol.StageTextEnc)
	ev(protocol.EventChunk, protocol.StageVAEDecode, chunk(1, 2))
	ev(protocol.EventChunk, protocol.StageVAEDecode, chunk(1, 2)) // redelivered chunk counts once
	if s := j.Stages[protocol.StageVAEDecode]; s.State != protocol.StateRunning || len(s.Chunks) != 1 {
		t.Fatalf("vaedecode after one chunk twice: %+v", s)
	}
	ev(protocol.EventChunk, protocol.StageVAEDecode, chunk(0, 2))
	if s := j.Stages[protocol.StageVAEDecode]; s.State != protocol.StateSucceeded {
		t.Fatalf("vaedecode after all chunks: %+v", s)
	}
	if !ev(protocol.EventFailed, protocol.StageEncode, func(e *protocol.Event) { e.Error = "boom" }) || j.State != protocol.StateFailed || j.FailedStage != protocol.StageEncode {
		t.Fatalf("failed: %s", j.State)
	}
	// Terminal is sticky: late events change nothing.
	if ev(protocol.EventSucceeded, protocol.StageEncode) || ev(protocol.EventCancelled, "") || j.State != protocol.StateFailed {
		t.Fatalf("terminal state changed to %s", j.State)
	}
	if j.Stages[protocol.StageDenoise].State != protocol.StateCancelled {
		t.Fatalf("unfinished stage of a failed job: %s", j.Stages[protocol.StageDenoise].State)
	}
}

// The submitted event fills in the request whenever it is folded, even
// after the job ended (textenc failed an invalid prompt before the
// projector appended its submitted event), and only once.
func TestFoldSubmittedInAnyOrder(t *testing.T) {
	t0 := time.Unix(100, 0).UTC()
	set := protocol.DefaultSettings()
	set.Seed = 4
	other := set
	other.Seed = 5
	j := Fold("j", []protocol.Event{
		{Job: "j", Stage: protocol.StageTextEnc, Kind: protocol.EventFailed, Error: "prompt: is empty", Time: t0.Add(time.Second)},
		{Job: "j", Kind: protocol.EventSubmitted, Prompt: "", Settings: &set, Time: t0},
		{Job: "j", Kind: protocol.EventSubmitted, Prompt: "late", Settings: &other, Time: t0.Add(2 * time.Second)},
	})
	if j.State != protocol.StateFailed || j.Error != "prompt: is empty" || j.Settings.Seed != 4 || !j.Created.Equal(t0) || j.Prompt != "" {
		t.Fatalf("record %+v", j)
	}
	r := Fold("r", []protocol.Event{{Job: "r", Kind: protocol.EventSubmitted, Prompt: "p", Settings: &set, Parent: "j", ReplayFrom: protocol.StageVAEDecode, Time: t0}})
	if r.Parent != "j" || r.Stages[protocol.StageDenoise].ReusedFrom != "j" || r.Stages[protocol.StageVAEDecode].ReusedFrom != "" || r.State != protocol.StateQueued {
		t.Fatalf("replay record %+v", r)
	}
}

func TestApplyOverrides(t *testing.T) {
	base := protocol.DefaultSettings()
	s, err := ApplyOverrides(protocol.StageDenoise, base, map[string]string{"seed": "9", "steps": "4"})
	if err != nil || s.Seed != 9 || s.Steps != 4 {
		t.Fatalf("denoise overrides: %+v %v", s, err)
	}
	for _, c := range []struct {
		stage string
		set   map[string]string
		want  string
	}{
		{protocol.StageEncode, map[string]string{"steps": "3"}, "steps: cannot be changed"},
		{protocol.StageEncode, map[string]string{"fps": "x"}, "fps:"},
		{protocol.StageDenoise, map[string]string{"frames": "17"}, "frames:"},
		{"nope", nil, "unknown stage"},
	} {
		if _, err := ApplyOverrides(c.stage, base, c.set); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: got %v, want %q", c.stage, c.set, err, c.want)
		}
	}
}
