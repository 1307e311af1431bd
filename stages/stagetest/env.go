package stagetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages"
)

// wait bounds every condition wait of the suite.
const wait = time.Minute

// Env is one stage runner on its own embedded nats-server.
type Env struct {
	T      testing.TB
	Stage  Stage
	Bus    *bus.Bus
	Store  *orchestrator.Store
	Worker string // the runner's worker id

	cons    jetstream.Consumer
	filter  string // the stage consumer's filter subject
	probe   *probe
	lastSeq uint64 // stream sequence of the last published input the consumer takes
}

// NewEnv starts a server and the stage's runner; both stop when the test
// ends.
func NewEnv(t testing.TB, s Stage) *Env { return newEnv(t, s) }

// newEnv runs the handler under mw, outside the retry middleware the
// pipeline uses (so an error from mw goes to the runner, not to Retry).
func newEnv(t testing.TB, s Stage, mw ...stages.Middleware) *Env {
	t.Helper()
	_, b := bustest.Start(t, bustest.Options{})
	e := &Env{T: t, Stage: s, Bus: b, Store: orchestrator.NewStore(b, bustest.Logger(t)),
		Worker: "stagetest-" + s.Name, probe: newProbe()}
	var err error
	if e.filter, err = bus.ConsumerFilter(s.Name); err != nil {
		t.Fatal(err)
	}
	if e.cons, err = b.Consumer(e.ctx(), s.Name); err != nil {
		t.Fatal(err)
	}
	// The probe is innermost so that it sees every run of the handler,
	// in-process retries included.
	all := append(mw, stages.Retry{Initial: 10 * time.Millisecond}.Middleware(), e.probe.middleware())
	r, err := stages.NewRunner(stages.Config{
		Stage: s.Name, Bus: b, Tracker: e.Store, Handler: s.Handler(t), Worker: e.Worker,
		RetryBase: 10 * time.Millisecond, AdmitDelay: 10 * time.Millisecond,
		Middleware: all, Log: bustest.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runner: %v", err)
		}
	})
	return e
}

func (e *Env) ctx() context.Context { return bustest.Ctx(e.T, wait) }

// Submit records a job with the suite's prompt (its prompt message is the
// textenc stage's input; other stages never see it).
func (e *Env) Submit(job string, set bus.Settings) {
	e.T.Helper()
	e.SubmitRequest(job, Prompt(), set)
}

// SubmitRequest records a job with req (published on its prompt subject).
func (e *Env) SubmitRequest(job string, req bus.Request, set bus.Settings) {
	e.T.Helper()
	if _, err := e.Store.Submit(e.ctx(), req, set, orchestrator.SubmitOptions{ID: job}); err != nil {
		e.T.Fatalf("submit %s: %v", job, err)
	}
}

// Inputs are the stage's valid inputs for job.
func (e *Env) Inputs(job string, set bus.Settings) []Input {
	e.T.Helper()
	return e.Stage.Inputs(e.T, job, set)
}

// Publish puts inputs on their write-once subjects (an input already there,
// like the prompt Submit published, is kept) and returns their stream
// sequences.
func (e *Env) Publish(in ...Input) []uint64 {
	e.T.Helper()
	seqs := make([]uint64, len(in))
	for i, x := range in {
		data := x.Data
		if data == nil {
			var err error
			if data, err = x.Env.Marshal(); err != nil {
				e.T.Fatal(err)
			}
		}
		seqs[i] = e.PublishRaw(x.Subject, data, x.Env, true)
	}
	return seqs
}

// PublishRaw publishes data on subject with the headers a producing stage
// sets (from env, when not nil). With once, an existing message on the
// subject is kept and its sequence returned.
func (e *Env) PublishRaw(subject string, data []byte, env *bus.Envelope, once bool) uint64 {
	e.T.Helper()
	m := nats.NewMsg(subject)
	m.Data = data
	if env != nil {
		m.Header.Set(bus.HeaderJob, env.Job)
		m.Header.Set(bus.HeaderStage, env.Stage)
		m.Header.Set(bus.HeaderSchema, strconv.Itoa(env.V))
		if env.Count > 0 {
			m.Header.Set(bus.HeaderChunk, strconv.Itoa(env.Chunk))
		}
	}
	var opts []jetstream.PublishOpt
	if once {
		opts = append(opts, jetstream.WithExpectLastSequencePerSubject(0))
	}
	var seq uint64
	ack, err := e.Bus.JS.PublishMsg(e.ctx(), m, opts...)
	var apiErr *jetstream.APIError
	switch {
	case err == nil:
		seq = ack.Sequence
	case once && errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence:
		old, err := e.Bus.Stream.GetLastMsgForSubject(e.ctx(), subject)
		if err != nil {
			e.T.Fatal(err)
		}
		seq = old.Sequence
	default:
		e.T.Fatalf("publish %s: %v", subject, err)
	}
	if matches(e.filter, subject) && seq > e.lastSeq {
		e.lastSeq = seq
	}
	return seq
}

// matches reports whether a NATS filter with '*' wildcards matches subject.
func matches(filter, subject string) bool {
	f, s := strings.Split(filter, "."), strings.Split(subject, ".")
	if len(f) != len(s) {
		return false
	}
	for i := range f {
		if f[i] != "*" && f[i] != s[i] {
			return false
		}
	}
	return true
}

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
	e.WaitJob(job, func(j *orchestrator.Job) bool {
		s := j.Stages[e.Stage.Name]
		return j.State.Terminal() || (s != nil && s.State == bus.StateSucceeded)
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

// OutputFilter is the subject filter of the stage's outputs for job.
func (e *Env) OutputFilter(job string) string {
	switch e.Stage.Name {
	case bus.StageTextEnc:
		return bus.TextSubject(job)
	case bus.StageDenoise:
		return bus.LatentFilter(job)
	case bus.StageVAEDecode:
		return bus.FramesFilter(job)
	}
	return bus.VideoSubject(job)
}

// Output is one published output message.
type Output struct {
	Seq  uint64
	Data []byte        // the message as stored
	Env  *bus.Envelope // decoded, claim resolved
}

// Outputs returns the job's output messages by subject, failing the test if
// a subject holds more than one (outputs are write-once).
func (e *Env) Outputs(job string) map[string]Output {
	e.T.Helper()
	ctx := e.ctx()
	info, err := e.Bus.Stream.Info(ctx, jetstream.WithSubjectFilter(e.OutputFilter(job)))
	if err != nil {
		e.T.Fatal(err)
	}
	out := map[string]Output{}
	for subj, n := range info.State.Subjects {
		if n != 1 {
			e.T.Errorf("%s holds %d messages; outputs are write-once", subj, n)
		}
		m, err := e.Bus.Stream.GetLastMsgForSubject(ctx, subj)
		if err != nil {
			e.T.Fatal(err)
		}
		env, err := e.Bus.Decode(ctx, m.Data)
		if err != nil {
			e.T.Fatalf("%s: %v", subj, err)
		}
		out[subj] = Output{Seq: m.Sequence, Data: m.Data, Env: env}
	}
	return out
}

// Snapshot is everything the stage produced for job with the job id
// replaced, so that two jobs' results compare byte for byte: each output's
// stored message and resolved body, and the stage's artifacts.
func (e *Env) Snapshot(job string) map[string][]byte {
	e.T.Helper()
	norm := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(job), []byte("<job>")) }
	snap := map[string][]byte{}
	for subj, o := range e.Outputs(job) {
		key := strings.ReplaceAll(subj, job, "<job>")
		snap[key+" body"] = norm(o.Env.Body)
		snap[key+" settings"] = []byte(fmt.Sprintf("%+v %d/%d", o.Env.Settings, o.Env.Chunk, o.Env.Count))
	}
	if e.Stage.Artifacts != nil {
		for name, data := range e.Stage.Artifacts(e.T, e, job) {
			snap["blob "+strings.ReplaceAll(name, job, "<job>")] = norm(data)
		}
	}
	return snap
}

// Raw is the job's outputs and artifacts exactly as stored (for re-runs of
// the same job, which must not change a byte).
func (e *Env) Raw(job string) map[string][]byte {
	e.T.Helper()
	raw := map[string][]byte{}
	for subj, o := range e.Outputs(job) {
		raw[fmt.Sprintf("%s #%d", subj, o.Seq)] = o.Data
	}
	if e.Stage.Artifacts != nil {
		for name, data := range e.Stage.Artifacts(e.T, e, job) {
			raw["blob "+name] = data
		}
	}
	return raw
}

// Events returns every event of job recorded so far, in order.
func (e *Env) Events(job string) []bus.Event {
	e.T.Helper()
	ctx := e.ctx()
	subject := bus.EventSubject(job)
	info, err := e.Bus.Events.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		e.T.Fatal(err)
	}
	n := info.State.Subjects[subject]
	var out []bus.Event
	if n == 0 {
		return out
	}
	c, err := e.Bus.Events.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		e.T.Fatal(err)
	}
	for range n {
		m, err := c.Next(jetstream.FetchContext(ctx))
		if err != nil {
			e.T.Fatalf("events of %s: %v", job, err)
		}
		var ev bus.Event
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			e.T.Fatalf("%s: %v", m.Subject(), err)
		}
		out = append(out, ev)
	}
	return out
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
		if !strings.Contains(a.Type, "terminated") || a.Consumer != bus.ConsumerName(e.Stage.Name) {
			continue
		}
		out = append(out, a)
		if a.StreamSeq == seq {
			return out
		}
	}
}
