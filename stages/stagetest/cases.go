package stagetest

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/orchestrator"
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

// checkOutputs checks that job's outputs are exactly the wanted ones: one
// message per subject, produced by this stage for this job, with the job's
// settings, chunk index and count, and a correct body.
func checkOutputs(t testing.TB, e *Env, job string, set bus.Settings) { e.CheckOutputs(t, job, set) }

// CheckOutputs checks that job's outputs are exactly the stage's Outputs.
func (e *Env) CheckOutputs(t testing.TB, job string, set bus.Settings) {
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
		if !reflect.DeepEqual(env.Settings, set) {
			t.Errorf("%s: settings %+v, want %+v", w.Subject, env.Settings, set)
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
	checkOutputs(t, e, job, s.Settings)

	if j.State == bus.StateFailed || j.State == bus.StateCancelled {
		t.Fatalf("job %s", j.Summary())
	}
	st := j.Stages[s.Name]
	if st.State != bus.StateSucceeded || st.Started == nil || st.Finished == nil || !slices.Equal(st.Workers, []string{e.Worker}) {
		t.Errorf("stage record %+v: want succeeded with start, finish and worker %s", st, e.Worker)
	}
	evs := e.Events(job)
	if !slices.ContainsFunc(evs, func(ev bus.Event) bool {
		return ev.Kind == bus.EventStarted && ev.Stage == s.Name && ev.Worker == e.Worker
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
		// duplicated producer message).
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
					e.PublishRaw(x.Subject, data, &again, false)
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
			checkOutputs(t, e, job, s.Settings)
			if j.State == bus.StateFailed || j.State == bus.StateCancelled {
				t.Fatalf("job %s", j.Summary())
			}
			n := len(e.triggers(in))
			switch {
			case m.republish && info.Delivered.Consumer != uint64(2*n):
				t.Errorf("consumer delivered %d messages, want %d (each input twice)", info.Delivered.Consumer, 2*n)
			// A job the first run ended (encode succeeds it) is acked as
			// ended rather than redelivered: nothing is left to do.
			case m.name == "RedeliveredAfterPublish" && !j.State.Terminal() && info.Delivered.Consumer != uint64(2*n):
				t.Errorf("consumer delivered %d times, want %d (each input redelivered once)", info.Delivered.Consumer, 2*n)
			case m.name == "HandledTwice":
				if calls := e.Calls(job, func([]Call) bool { return true }); len(calls) != 2*n {
					t.Errorf("handler ran %d times, want %d", len(calls), 2*n)
				}
			}
		})
	}
}

// 3. Each kind of poison input fails the job with a reason naming the
// problem and is terminated, not redelivered; a good job afterwards works.
func testMalformed(t *testing.T, s Stage) {
	cases := append(genericMalformed(), s.Malformed...)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			e := NewEnv(t, s)
			// Not submitted: the runner must fail a job it has no record
			// of, reading the id from the header or the subject.
			const bad = "poison-1"
			in := c.Corrupt(t, e.Inputs(bad, s.Settings))
			seqs := e.Publish(in...)
			j := e.WaitJob(bad, func(j *orchestrator.Job) bool { return j.State.Terminal() })
			if j.State != bus.StateFailed || j.FailedStage != s.Name || !strings.Contains(j.Error, c.Reason) {
				t.Errorf("job %s failed in %q, want failed in %s with %q", j.Summary(), j.FailedStage, s.Name, c.Reason)
			}
			info := e.Settled()
			n := len(e.triggers(in))
			if info.Delivered.Consumer != uint64(n) {
				t.Errorf("consumer delivered %d times for %d messages: redelivered", info.Delivered.Consumer, n)
			}
			var first uint64
			for i, x := range in {
				if matches(e.filter, x.Subject) {
					first = seqs[i]
					break
				}
			}
			terms := e.waitTerminated(first)
			if len(terms) != 1 || !strings.Contains(terms[0].Reason, c.Reason) {
				t.Errorf("terminated: %+v, want stream seq %d with %q", terms, first, c.Reason)
			}
			if calls := e.Calls(bad, func([]Call) bool { return true }); len(calls) > 1 {
				t.Errorf("handler ran %d times on poison: %+v", len(calls), calls)
			}
			if outs := e.Outputs(bad); len(outs) != 0 {
				t.Errorf("poison job has outputs: %v", keys(outs))
			}

			const good = "good-after-1"
			e.Submit(good, s.Settings)
			e.Publish(e.Inputs(good, s.Settings)...)
			if j := e.WaitDone(good); j.Stages[s.Name].State != bus.StateSucceeded {
				t.Fatalf("good job after poison: %s", j.Summary())
			}
			checkOutputs(t, e, good, s.Settings)
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
