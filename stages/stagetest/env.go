package stagetest

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/worker"
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
	if e.filter, err = protocol.ConsumerFilter(s.Name); err != nil {
		t.Fatal(err)
	}
	if e.cons, err = b.Consumer(e.ctx(), s.Name); err != nil {
		t.Fatal(err)
	}
	// The probe is innermost so that it sees every run of the handler,
	// in-process retries included.
	all := append(mw, stages.Retry{Initial: 10 * time.Millisecond}.Middleware(), e.probe.middleware())
	r, err := worker.New(worker.Config{
		Stage: s.Name, Bus: b, Tracker: e.Store, Handler: s.Handler(t), Worker: e.Worker, Concurrency: s.Concurrency,
		RetryBase: 10 * time.Millisecond, AdmitDelay: 10 * time.Millisecond,
		Middleware: all, Log: bustest.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	Serve(t, r, e.Store)
	return e
}

func (e *Env) ctx() context.Context { return bustest.Ctx(e.T, wait) }

// Submit records a job with the suite's prompt (its prompt message is the
// textenc stage's input; other stages never see it).
func (e *Env) Submit(job string, set protocol.Settings) {
	e.T.Helper()
	e.SubmitRequest(job, Prompt(), set)
}

// SubmitRequest records a job with req (published on its prompt subject).
func (e *Env) SubmitRequest(job string, req protocol.Request, set protocol.Settings) {
	e.T.Helper()
	if _, err := e.Store.Submit(e.ctx(), req, set, orchestrator.SubmitOptions{ID: job}); err != nil {
		e.T.Fatalf("submit %s: %v", job, err)
	}
}

// Inputs are the stage's valid inputs for job.
func (e *Env) Inputs(job string, set protocol.Settings) []Input {
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
func (e *Env) PublishRaw(subject string, data []byte, env *protocol.Envelope, once bool) uint64 {
	e.T.Helper()
	m := nats.NewMsg(subject)
	m.Data = data
	if env != nil {
		m.Header.Set(protocol.HeaderJob, env.Job)
		m.Header.Set(protocol.HeaderStage, env.Stage)
		m.Header.Set(protocol.HeaderSchema, strconv.Itoa(env.V))
		if env.Count > 0 {
			m.Header.Set(protocol.HeaderChunk, strconv.Itoa(env.Chunk))
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

// Serve runs r, and the record projector on store (the job records are
// the projector's, as in every reel process), until the test ends.
func Serve(t testing.TB, r *worker.Runner, store *orchestrator.Store) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- r.Run(ctx) }()
	go func() { done <- orchestrator.Projector{Store: store}.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("runner or projector: %v", err)
			}
		}
	})
}
