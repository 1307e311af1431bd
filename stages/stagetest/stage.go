// Package stagetest is a conformance suite every pipeline stage runs (the
// idea of Watermill's pubsub/tests): the stage's real handler behind the real
// runner (worker.New) on a real embedded nats-server, fed real inputs
// made by the engine, and checked for what the bus contract promises:
// write-once outputs of the right shape, idempotent re-runs, poison messages
// terminated with a reason, cancellation within one step or chunk, and
// deterministic outputs.
package stagetest

import (
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages"
)

// Stage describes one stage handler under test.
type Stage struct {
	Name string // protocol.StageTextEnc, ...
	// Handler builds the handler under test (a fresh one per environment).
	Handler func(t testing.TB) stages.Handler
	// Settings of the suite's jobs; keep them small.
	Settings protocol.Settings
	// Inputs are the valid input messages of a job, in publishing order;
	// the first must be one the stage's consumer takes (the generic
	// malformed cases corrupt it).
	Inputs func(t testing.TB, job string, set protocol.Settings) []Input
	// Outputs are exactly the messages a correct run publishes.
	Outputs func(t testing.TB, job string, set protocol.Settings) []Want
	// Artifacts, if set, returns what else the stage stores for a job (blob
	// name → bytes, absent ones left out): compared like outputs.
	Artifacts func(t testing.TB, e *Env, job string) map[string][]byte
	// Progress, if set, checks the job record and events after a good run.
	Progress func(t testing.TB, set protocol.Settings, j *orchestrator.Job, evs []protocol.Event)
	// Malformed are the stage's own kinds of poison input, on top of the
	// generic ones (bad msgpack, unknown schema version, missing claim blob).
	Malformed []Malformed
	// Cancel, if set, says where to cancel a job mid-work; without it the
	// job is cancelled while a delivery is held before the handler runs.
	Cancel *CancelPoint
	// Extras are stage-specific cases, run as subtests after the shared ones.
	Extras []Extra
	// Concurrency is the runner's slots (0: 1).
	Concurrency int
}

// Input is one message to publish.
type Input struct {
	Subject string
	Env     *protocol.Envelope // also gives the headers
	Data    []byte             // published instead of Env's encoding when set
}

// Want is one expected output message.
type Want struct {
	Subject      string
	Chunk, Count int // envelope chunk index and count (0, 0 when unchunked)
	// Body checks the resolved body: dtype, shape and, where the engine can
	// say, the exact values.
	Body func(body []byte) error
	// Settings, if set, are the settings the output must carry instead of
	// the job's (textenc resolves the model's defaults at intake).
	Settings *protocol.Settings
}

// Malformed is one kind of poison input.
type Malformed struct {
	Name string
	// Corrupt rewrites the job's valid inputs.
	Corrupt func(t testing.TB, in []Input) []Input
	// Reason is a substring the job's error must contain.
	Reason string
}

// CancelPoint is where a job is cancelled in the cancellation case.
type CancelPoint struct {
	// Settings of the cancelled job (e.g. many steps so it is mid-work).
	Settings protocol.Settings
	// Publish picks which of the inputs to publish (all when nil).
	Publish func(in []Input) []Input
	// Reached reports the event after which the job is cancelled.
	Reached func(ev protocol.Event) bool
	// Check, if set, checks the stop point: at is the record read right
	// after the cancel, evs every event of the job once the handler returned.
	Check func(t testing.TB, at *orchestrator.Job, evs []protocol.Event)
}

// Extra is a stage-specific case.
type Extra struct {
	Name string
	Run  func(t *testing.T, e *Env)
}

// Run runs the conformance suite for s.
func Run(t *testing.T, s Stage) {
	if s.Name == "" || s.Handler == nil || s.Inputs == nil || s.Outputs == nil {
		t.Fatal("stagetest: Stage needs Name, Handler, Inputs and Outputs")
	}
	if err := s.Settings.Validate(); err != nil {
		t.Fatalf("stagetest: settings: %v", err)
	}
	t.Run("ValidInput", func(t *testing.T) { testValidInput(t, s) })
	t.Run("Rerun", func(t *testing.T) { testRerun(t, s) })
	t.Run("Malformed", func(t *testing.T) { testMalformed(t, s) })
	t.Run("Cancel", func(t *testing.T) { testCancel(t, s) })
	t.Run("Deterministic", func(t *testing.T) { testDeterministic(t, s) })
	for _, x := range s.Extras {
		t.Run(x.Name, func(t *testing.T) { x.Run(t, NewEnv(t, s)) })
	}
}
