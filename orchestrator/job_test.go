package orchestrator

import (
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus"
)

func TestJobApplyStateMachine(t *testing.T) {
	now := time.Unix(100, 0)
	j := newJob("j", bus.Request{Prompt: "p"}, bus.DefaultSettings(), now)
	ev := func(kind, stage string, mod ...func(*bus.Event)) bool {
		e := bus.Event{Job: "j", Stage: stage, Kind: kind, Time: now}
		for _, m := range mod {
			m(&e)
		}
		return j.apply(e)
	}
	chunk := func(i, n int) func(*bus.Event) { return func(e *bus.Event) { e.Chunk, e.Count = i, n } }
	ev(bus.EventStarted, bus.StageTextEnc)
	if j.State != bus.StateRunning || j.Stages[bus.StageTextEnc].State != bus.StateRunning {
		t.Fatalf("after started: %s", j.State)
	}
	ev(bus.EventDone, bus.StageTextEnc)
	ev(bus.EventChunk, bus.StageVAEDecode, chunk(1, 2))
	ev(bus.EventChunk, bus.StageVAEDecode, chunk(1, 2)) // redelivered chunk counts once
	if s := j.Stages[bus.StageVAEDecode]; s.State != bus.StateRunning || len(s.Chunks) != 1 {
		t.Fatalf("vaedecode after one chunk twice: %+v", s)
	}
	ev(bus.EventChunk, bus.StageVAEDecode, chunk(0, 2))
	if s := j.Stages[bus.StageVAEDecode]; s.State != bus.StateSucceeded {
		t.Fatalf("vaedecode after all chunks: %+v", s)
	}
	if !ev(bus.EventFailed, bus.StageEncode, func(e *bus.Event) { e.Error = "boom" }) || j.State != bus.StateFailed || j.FailedStage != bus.StageEncode {
		t.Fatalf("failed: %s", j.State)
	}
	// Terminal is sticky: late events change nothing.
	if ev(bus.EventSucceeded, bus.StageEncode) || ev(bus.EventCancelled, "") || j.State != bus.StateFailed {
		t.Fatalf("terminal state changed to %s", j.State)
	}
	if j.Stages[bus.StageDenoise].State != bus.StateCancelled {
		t.Fatalf("unfinished stage of a failed job: %s", j.Stages[bus.StageDenoise].State)
	}
}

func TestApplyOverrides(t *testing.T) {
	base := bus.DefaultSettings()
	s, err := ApplyOverrides(bus.StageDenoise, base, map[string]string{"seed": "9", "steps": "4"})
	if err != nil || s.Seed != 9 || s.Steps != 4 {
		t.Fatalf("denoise overrides: %+v %v", s, err)
	}
	for _, c := range []struct {
		stage string
		set   map[string]string
		want  string
	}{
		{bus.StageEncode, map[string]string{"steps": "3"}, "steps: cannot be changed"},
		{bus.StageEncode, map[string]string{"fps": "x"}, "fps:"},
		{bus.StageDenoise, map[string]string{"frames": "17"}, "frames:"},
		{"nope", nil, "unknown stage"},
	} {
		if _, err := ApplyOverrides(c.stage, base, c.set); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: got %v, want %q", c.stage, c.set, err, c.want)
		}
	}
}
