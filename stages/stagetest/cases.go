package stagetest

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages"
)

// triggers are the inputs the stage's consumer takes (encode takes only
// chunk 0 and reads the other chunks itself).
func (e *Env) triggers(in []Input) []Input {
	var out []Input
	for _, x := range in {
		if matches(e.filter, x.Subject) {
			out = append(out, x)
		}
	}
	return out
}

// CheckOutputs checks that job's outputs are exactly the stage's Outputs:
// one message per subject, produced by this stage for this job, with the
// job's settings, chunk index and count, and a correct body.
func (e *Env) CheckOutputs(t testing.TB, job string, set protocol.Settings) {
	t.Helper()
	outs := e.Outputs(job)
	wants := e.Stage.Outputs(t, job, set)
	var want []string
	for _, w := range wants {
		want = append(want, w.Subject)
		o, ok := outs[w.Subject]
		if !ok {
			t.Errorf("no output on %s", w.Subject)
			continue
		}
		env := o.Env
		if env.Job != job || env.Stage != e.Stage.Name || env.Chunk != w.Chunk || env.Count != w.Count || env.Attempt < 1 {
			t.Errorf("%s: envelope job %q stage %q chunk %d/%d attempt %d, want %q %q %d/%d",
				w.Subject, env.Job, env.Stage, env.Chunk, env.Count, env.Attempt, job, e.Stage.Name, w.Chunk, w.Count)
		}
		wantSet := set
		if w.Settings != nil {
			wantSet = *w.Settings
		}
		if !reflect.DeepEqual(env.Settings, wantSet) {
			t.Errorf("%s: settings %+v, want %+v", w.Subject, env.Settings, wantSet)
		}
		if w.Body != nil {
			if err := w.Body(env.Body); err != nil {
				t.Errorf("%s: %v", w.Subject, err)
			}
		}
	}
	for subj := range outs {
		if !slices.Contains(want, subj) {
			t.Errorf("unexpected output on %s (want only %v)", subj, want)
		}
	}
}

// 1. A valid input gives exactly the expected outputs, and the job record
// and events show the stage's work.
func testValidInput(t *testing.T, s Stage) {
	e := NewEnv(t, s)
	const job = "valid-1"
	e.Submit(job, s.Settings)
	in := e.Inputs(job, s.Settings)
	e.Publish(in...)
	j := e.WaitDone(job)
	e.CheckOutputs(t, job, s.Settings)

	if j.State == protocol.StateFailed || j.State == protocol.StateCancelled {
		t.Fatalf("job %s", j.Summary())
	}
	st := j.Stages[s.Name]
	if st.State != protocol.StateSucceeded || st.Started == nil || st.Finished == nil || !slices.Equal(st.Workers, []string{e.Worker}) {
		t.Errorf("stage record %+v: want succeeded with start, finish and worker %s", st, e.Worker)
	}
	evs := e.Events(job)
	if !slices.ContainsFunc(evs, func(ev protocol.Event) bool {
		return ev.Kind == protocol.EventStarted && ev.Stage == s.Name && ev.Worker == e.Worker
	}) {
		t.Errorf("no started event from %s: %+v", e.Worker, evs)
	}
	if s.Progress != nil {
		s.Progress(t, s.Settings, j, evs)
	}
	calls := e.Calls(job, func([]Call) bool { return true })
	if len(calls) != len(e.triggers(in)) {
		t.Errorf("handler ran %d times for %d input messages: %+v", len(calls), len(e.triggers(in)), calls)
	}
	for _, c := range calls {
		if c.Delivered != 1 || c.Err != nil {
			t.Errorf("handler call %+v: want first delivery, no error", c)
		}
	}
}

// gate holds the first successful run of each message's handler until
// released, then runs the re-run mode's second act.
type gate struct {
	reached chan struct{} // one signal per first run
	release chan struct{} // closed by the test
}

func newGate() *gate { return &gate{reached: make(chan struct{}, 64), release: make(chan struct{})} }

// 2. A redelivered or re-run input adds no output and changes no byte.
func testRerun(t *testing.T, s Stage) {
	modes := []struct {
		name string
		mw   func(g *gate) stages.Middleware
		// republish the inputs as new messages (a new attempt) instead
		republish bool
	}{
		// The worker "dies" after publishing, before its ack: the server
		// redelivers the message.
		{name: "RedeliveredAfterPublish", mw: failAfterFirstRun},
		// The same delivery handled twice (two workers racing on an
		// expired ack, an in-process retry after a late error).
		{name: "HandledTwice", mw: runTwice},
		// The input published again under a new attempt (a replayed or
		// duplicated producer message): stream REEL refuses it (one
		// message per subject), so nothing runs again.
		{name: "InputPublishedAgain", republish: true},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			g := newGate()
			var e *Env
			if m.mw != nil {
				e = newEnv(t, s, m.mw(g))
			} else {
				e = newEnv(t, s)
				close(g.release)
			}
			const job = "rerun-1"
			e.Submit(job, s.Settings)
			in := e.Inputs(job, s.Settings)
			e.Publish(in...)
			var before map[string][]byte
			if m.republish {
				e.WaitDone(job)
				before = e.Raw(job)
				for _, x := range e.triggers(in) {
					again := *x.Env
					again.Attempt++
					data, err := again.Marshal()
					if err != nil {
						t.Fatal(err)
					}
					if _, err := e.Bus.JS.Publish(e.ctx(), x.Subject, data); err == nil || !strings.Contains(err.Error(), "maximum messages per subject exceeded") {
						t.Fatalf("publish %s again: %v, want the stream's per-subject refusal", x.Subject, err)
					}
				}
			} else {
				waitChan(t, e, g.reached)
				before = e.Raw(job)
				close(g.release)
			}
			j := e.WaitDone(job)
			info := e.Settled()
			after := e.Raw(job)
			if len(before) == 0 {
				t.Fatal("no output before the re-run")
			}
			for k, v := range before {
				if !bytes.Equal(after[k], v) {
					t.Errorf("%s changed or vanished after the re-run", k)
				}
			}
			e.CheckOutputs(t, job, s.Settings)
			if j.State == protocol.StateFailed || j.State == protocol.StateCancelled {
				t.Fatalf("job %s", j.Summary())
			}
			// Each input must really have been handled again, except when
			// the first run ended the job (encode succeeds it): the runner
			// then acks the repeat as a message of an ended job, and a
			// lost ack may or may not reach the server first.
			n := len(e.triggers(in))
			calls := len(e.Calls(job, func([]Call) bool { return true }))
			minD, maxD, wantCalls := 2*n, 2*n, 2*n
			switch {
			case m.republish:
				minD, maxD, wantCalls = n, n, n
			case m.name == "HandledTwice":
				minD, maxD = n, n
			case j.State.Terminal():
				minD, wantCalls = n, n
			}
			if d := int(info.Delivered.Consumer); d < minD || d > maxD || calls != wantCalls {
				t.Errorf("consumer delivered %d times, handler ran %d times; want %d..%d and %d for %d inputs",
					d, calls, minD, maxD, wantCalls, n)
			}
		})
	}
}

// 5. Two jobs with the same settings give byte-identical outputs, the
// second with its inputs published in reverse order (chunks may arrive in
// any order).
func testDeterministic(t *testing.T, s Stage) {
	e := NewEnv(t, s)
	jobs := []string{"same-a", "same-b"}
	for i, job := range jobs {
		e.Submit(job, s.Settings)
		in := e.Inputs(job, s.Settings)
		if i == 1 {
			slices.Reverse(in)
		}
		e.Publish(in...)
		e.WaitDone(job)
	}
	a, b := e.Snapshot(jobs[0]), e.Snapshot(jobs[1])
	if len(a) == 0 {
		t.Fatal("no outputs")
	}
	if !slices.Equal(sortedKeys(a), sortedKeys(b)) {
		t.Fatalf("outputs differ: %v vs %v", sortedKeys(a), sortedKeys(b))
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			t.Errorf("%s differs between two jobs with the same settings", k)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sortedKeys(m map[string][]byte) []string { return keys(m) }

var errWorkerLost = errors.New("stagetest: worker lost before its ack")
