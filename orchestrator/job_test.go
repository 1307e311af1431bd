package orchestrator

import (
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/protocol"
)

func TestJobApplyStateMachine(t *testing.T) {
	now := time.Unix(100, 0)
	j := newJob("j", protocol.Request{Prompt: "p"}, protocol.DefaultSettings(), now)
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
