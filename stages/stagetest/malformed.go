package stagetest

import (
	"strings"
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
)

// genericMalformed are the poison inputs every stage must refuse; each
// corrupts the first input the stage's consumer takes.
func genericMalformed() []Malformed {
	return []Malformed{
		{Name: "BadMsgpack", Reason: "malformed message: envelope", Corrupt: corruptFirst(func(t testing.TB, x *Input) {
			x.Data = []byte("\xc1 is never valid msgpack") // headers still name the job
		})},
		{Name: "UnknownSchemaVersion", Reason: "unknown schema version 99", Corrupt: corruptFirst(func(t testing.TB, x *Input) {
			x.Env.V = 99
		})},
		{Name: "MissingClaimBlob", Reason: "is not in bucket " + protocol.BlobsBucket, Corrupt: corruptFirst(func(t testing.TB, x *Input) {
			x.Env.Claim = &protocol.Claim{Bucket: protocol.BlobsBucket, Name: "claim/" + x.Subject,
				Size: len(x.Env.Body), SHA256: strings.Repeat("0", 64)}
			x.Env.Body = nil
		})},
	}
}

// corruptFirst applies fn to a copy of the first input whose subject is a
// stage's input kind (inputs are listed trigger first).
func corruptFirst(fn func(t testing.TB, x *Input)) func(testing.TB, []Input) []Input {
	return func(t testing.TB, in []Input) []Input {
		out := CloneInputs(in)
		fn(t, &out[0])
		return out
	}
}

// CloneInputs copies the inputs and their envelopes, so that a corruption
// does not leak into other messages.
func CloneInputs(in []Input) []Input {
	out := make([]Input, len(in))
	for i, x := range in {
		out[i] = x
		if x.Env != nil {
			env := *x.Env
			out[i].Env = &env
		}
	}
	return out
}

// SetBody replaces an input's body (stage-specific corruptions).
func SetBody(t testing.TB, x *Input, body any) {
	t.Helper()
	if err := x.Env.SetBody(body); err != nil {
		t.Fatal(err)
	}
}

// 3. Each kind of poison input fails the job with a reason naming the
// problem and is terminated, not redelivered; a good job afterwards works.
func testMalformed(t *testing.T, s Stage) {
	cases := append(genericMalformed(), s.Malformed...)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			e := NewEnv(t, s)
			// The job is known (submitted) but has no record of this
			// stage's work: the runner fails it, reading the id from the
			// subject. textenc's input is the prompt, the submission
			// itself; later stages refuse messages of jobs never submitted.
			const bad = "poison-1"
			if spec, _ := protocol.Spec(s.Name); spec.Input != protocol.KindPrompt {
				e.Submit(bad, s.Settings)
			}
			in := c.Corrupt(t, e.Inputs(bad, s.Settings))
			seqs := e.Publish(in...)
			j := e.WaitJob(bad, func(j *orchestrator.Job) bool { return j.State.Terminal() })
			if j.State != protocol.StateFailed || j.FailedStage != s.Name || !strings.Contains(j.Error, c.Reason) {
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
			if j := e.WaitDone(good); j.Stages[s.Name].State != protocol.StateSucceeded {
				t.Fatalf("good job after poison: %s", j.Summary())
			}
			e.CheckOutputs(t, good, s.Settings)
		})
	}
}
