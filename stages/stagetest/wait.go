package stagetest

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
)

// Settled waits until the stage's consumer has taken every input published
// so far and acked or terminated it, and returns the consumer's state.
func (e *Env) Settled() *jetstream.ConsumerInfo {
	e.T.Helper()
	ctx := e.ctx()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		info, err := e.cons.Info(ctx)
		if err != nil {
			e.T.Fatalf("consumer info: %v", err)
		}
		if info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0 && info.Delivered.Stream >= e.lastSeq {
			return info
		}
		select { // the server has no push notification for acks: poll
		case <-ctx.Done():
			e.T.Fatalf("consumer %s never settled: %d pending, %d ack pending, delivered up to %d of %d",
				info.Name, info.NumPending, info.NumAckPending, info.Delivered.Stream, e.lastSeq)
		case <-tick.C:
		}
	}
}

// WaitJob watches the job record until cond holds.
func (e *Env) WaitJob(job string, cond func(*orchestrator.Job) bool) *orchestrator.Job {
	e.T.Helper()
	ctx := e.ctx()
	w, err := e.Bus.Jobs.Watch(ctx, job)
	if err != nil {
		e.T.Fatal(err)
	}
	defer func() { _ = w.Stop() }()
	var last orchestrator.Job
	for {
		select {
		case <-ctx.Done():
			e.T.Fatalf("job %s: condition not reached; last record %s", job, last.Summary())
		case kv, ok := <-w.Updates():
			if !ok {
				e.T.Fatalf("watch %s closed", job)
			}
			if kv == nil || kv.Operation() != jetstream.KeyValuePut {
				continue
			}
			var j orchestrator.Job
			if err := json.Unmarshal(kv.Value(), &j); err != nil {
				e.T.Fatal(err)
			}
			last = j
			if cond(&j) {
				return &j
			}
		}
	}
}

// WaitDone waits until the stage finished the job (its stage record
// succeeded, or the job ended) and every input is settled.
func (e *Env) WaitDone(job string) *orchestrator.Job {
	e.T.Helper()
	// The stage that makes the video ends the job: its chunk events mark
	// the stage done before its succeeded event is projected, so wait for
	// the job itself there.
	spec, _ := protocol.Spec(e.Stage.Name)
	last := slices.Contains(spec.Outputs, protocol.KindVideo)
	e.WaitJob(job, func(j *orchestrator.Job) bool {
		s := j.Stages[e.Stage.Name]
		return j.State.Terminal() || (!last && s != nil && s.State == protocol.StateSucceeded)
	})
	e.Settled()
	j, err := e.Store.Get(e.ctx(), job)
	if err != nil {
		e.T.Fatal(err)
	}
	return j
}

// Calls waits until cond holds for the handler calls of job.
func (e *Env) Calls(job string, cond func([]Call) bool) []Call {
	e.T.Helper()
	calls, err := e.probe.wait(e.ctx(), job, cond)
	if err != nil {
		e.T.Fatalf("handler calls of %s: %+v: %v", job, calls, err)
	}
	return calls
}

// advisory is a dead letter in REEL_DLQ (a server advisory).
type advisory struct {
	Type      string `json:"type"`
	Consumer  string `json:"consumer"`
	StreamSeq uint64 `json:"stream_seq"`
	Reason    string `json:"reason"`
}

// waitTerminated waits for the server's MSG_TERMINATED advisory of stream
// sequence seq in REEL_DLQ (the server stores it asynchronously, after the
// term settled the message) and returns every terminated advisory of the
// stage's consumer read up to it.
func (e *Env) waitTerminated(seq uint64) []advisory {
	e.T.Helper()
	ctx := e.ctx()
	c, err := e.Bus.DLQ.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		e.T.Fatal(err)
	}
	var out []advisory
	for {
		m, err := c.Next(jetstream.FetchContext(ctx))
		if err != nil {
			e.T.Fatalf("no terminated advisory for stream seq %d (saw %+v): %v", seq, out, err)
		}
		var a advisory
		if err := json.Unmarshal(m.Data(), &a); err != nil {
			e.T.Fatal(err)
		}
		if !strings.Contains(a.Type, "terminated") || a.Consumer != protocol.ConsumerName(e.Stage.Name) {
			continue
		}
		out = append(out, a)
		if a.StreamSeq == seq {
			return out
		}
	}
}
