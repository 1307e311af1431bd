package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/stagetest"
	"github.com/reel-video/reel/stages/worker"
)

type env struct {
	b     *bus.Bus
	store *orchestrator.Store
}

func setup(t *testing.T, lc bus.LayoutConfig) env {
	_, b := bustest.Start(t, bustest.Options{Layout: lc})
	return env{b, orchestrator.NewStore(b, bustest.Logger(t))}
}

// run serves a textenc-stage runner with h until the test ends.
func (e env) run(t *testing.T, h stages.Handler, mod func(*worker.Config)) {
	t.Helper()
	cfg := worker.Config{Stage: protocol.StageTextEnc, Bus: e.b, Tracker: e.store, Handler: h,
		RetryBase: 10 * time.Millisecond, AdmitDelay: 20 * time.Millisecond, Log: bustest.Logger(t)}
	if mod != nil {
		mod(&cfg)
	}
	r, err := worker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stagetest.Serve(t, r, e.store) // the job records (deadline, cancel) are the projector's
}

func (e env) submit(t *testing.T, o orchestrator.SubmitOptions) string {
	t.Helper()
	set := protocol.DefaultSettings()
	set.Frames = 16
	id, err := e.store.Submit(bustest.Ctx(t, 10*time.Second), protocol.Request{Prompt: "p"}, set, o)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (e env) wait(t *testing.T, id string) *orchestrator.Job {
	t.Helper()
	j, err := e.store.Wait(bustest.Ctx(t, 30*time.Second), id)
	if err != nil {
		t.Fatalf("wait %s: %v", id, err)
	}
	return j
}

// succeed finishes the job (stands in for the rest of the pipeline).
func succeed(ctx context.Context, d stages.Delivery) error {
	d.Report(ctx, protocol.Event{Kind: protocol.EventSucceeded, Video: &protocol.VideoInfo{Object: "x"}})
	return nil
}

// A handler that always fails: after MaxDeliver the job is failed with the
// reason, the message is terminated (a dead letter advisory is kept), and
// nothing retries forever.
func TestAlwaysFailingHandlerDeadLetters(t *testing.T) {
	e := setup(t, bus.LayoutConfig{MaxDeliver: 3})
	var calls atomic.Int32
	e.run(t, stages.HandlerFunc(func(ctx context.Context, d stages.Delivery) error {
		calls.Add(1)
		return errors.New("GPU on fire")
	}), nil)
	id := e.submit(t, orchestrator.SubmitOptions{})
	j := e.wait(t, id)
	if j.State != protocol.StateFailed || !strings.Contains(j.Error, "gave up after 3 deliveries: GPU on fire") {
		t.Fatalf("job: %s %q", j.State, j.Error)
	}
	if got := j.Stages[protocol.StageTextEnc].Retries; got != 2 {
		t.Errorf("retries recorded: %d, want 2", got)
	}
	adv := nextDLQ(t, e.b)
	if !strings.Contains(adv.Type, "terminated") || !strings.Contains(adv.Reason, "GPU on fire") {
		t.Fatalf("dead letter: %+v", adv)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("handler ran %d times, want 3", n)
	}
}

type advisory struct {
	Type      string `json:"type"`
	StreamSeq uint64 `json:"stream_seq"`
	Reason    string `json:"reason"`
}

func nextDLQ(t *testing.T, b *bus.Bus) advisory {
	t.Helper()
	ctx := bustest.Ctx(t, 30*time.Second)
	c, err := b.JS.OrderedConsumer(ctx, protocol.DLQStreamName, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Next(jetstream.FetchContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	var a advisory
	if err := json.Unmarshal(m.Data(), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// A worker that dies holding a message (never acks, no heartbeats): after
// AckWait the message goes to a healthy worker, and the job completes.
func TestHungWorkerMessageRedelivered(t *testing.T) {
	e := setup(t, bus.LayoutConfig{AckWait: time.Second, MaxDeliver: 3})
	ctx := bustest.Ctx(t, 30*time.Second)
	id := e.submit(t, orchestrator.SubmitOptions{})
	// The "hung" worker: pulls the message on the shared consumer and goes silent.
	cons, err := e.b.Consumer(ctx, protocol.StageTextEnc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cons.Next(jetstream.FetchContext(ctx)); err != nil {
		t.Fatal(err)
	}
	var delivery atomic.Int32
	e.run(t, stages.HandlerFunc(func(ctx context.Context, d stages.Delivery) error {
		delivery.Store(int32(d.Attempt()))
		return succeed(ctx, d)
	}), nil)
	if j := e.wait(t, id); j.State != protocol.StateSucceeded {
		t.Fatalf("job: %s %q", j.State, j.Error)
	}
	if n := delivery.Load(); n != 2 {
		t.Fatalf("healthy worker got delivery %d, want 2", n)
	}
}

// Workers that keep dying exhaust MaxDeliver: the server's MAX_DELIVERIES
// advisory, captured in REEL_DLQ, fails the job through DeadLetters.
func TestMaxDeliveriesAdvisoryFailsJob(t *testing.T) {
	e := setup(t, bus.LayoutConfig{AckWait: 500 * time.Millisecond, MaxDeliver: 2})
	ctx := bustest.Ctx(t, 30*time.Second)
	dctx, stop := context.WithCancel(ctx)
	dlDone := make(chan error, 1)
	go func() { dlDone <- orchestrator.DeadLetters{Store: e.store}.Run(dctx) }()
	defer func() { stop(); <-dlDone }()
	id := e.submit(t, orchestrator.SubmitOptions{})
	cons, err := e.b.Consumer(ctx, protocol.StageTextEnc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // two deliveries, neither acknowledged
		m, err := cons.Next(jetstream.FetchContext(ctx))
		if err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
		if md, _ := m.Metadata(); md.NumDelivered != uint64(i+1) {
			t.Fatalf("delivery %d: NumDelivered %d", i+1, md.NumDelivered)
		}
	}
	// A worker waiting for work (a pull request) while the second delivery
	// expires: the message is not delivered a third time.
	third := make(chan error, 1)
	go func() {
		_, err := cons.Next(jetstream.FetchContext(ctx))
		third <- err
	}()
	j := e.wait(t, id)
	if j.State != protocol.StateFailed || !strings.Contains(j.Error, "after 2 deliveries (dead letter") {
		t.Fatalf("job: %s %q", j.State, j.Error)
	}
}

// Cancel stops a running handler at its next step; the job ends cancelled.
func TestCancelStopsRunningHandler(t *testing.T) {
	e := setup(t, bus.LayoutConfig{})
	atStep2 := make(chan struct{})
	returned := make(chan int, 1)
	e.run(t, stages.HandlerFunc(func(ctx context.Context, d stages.Delivery) error {
		for step := 1; ; step++ {
			if ctx.Err() != nil {
				returned <- step
				return ctx.Err()
			}
			d.Report(ctx, protocol.Event{Kind: protocol.EventStep, Step: step, Total: 1000})
			if step == 2 {
				close(atStep2)
				<-ctx.Done() // a long step, interrupted by the cancel
			}
		}
	}), nil)
	id := e.submit(t, orchestrator.SubmitOptions{})
	<-atStep2
	if err := e.store.Cancel(bustest.Ctx(t, 10*time.Second), id, "test"); err != nil {
		t.Fatal(err)
	}
	if step := <-returned; step != 3 {
		t.Fatalf("handler stopped at step %d, want 3", step)
	}
	if j := e.wait(t, id); j.State != protocol.StateCancelled {
		t.Fatalf("job: %s", j.State)
	}
}

// A job past its deadline fails with a clear state, before or while running.
func TestDeadline(t *testing.T) {
	e := setup(t, bus.LayoutConfig{})
	e.run(t, stages.HandlerFunc(func(ctx context.Context, d stages.Delivery) error {
		<-ctx.Done()
		return ctx.Err()
	}), nil)
	id := e.submit(t, orchestrator.SubmitOptions{Deadline: 300 * time.Millisecond})
	j := e.wait(t, id)
	if j.State != protocol.StateFailed || !strings.Contains(j.Error, "deadline") {
		t.Fatalf("job: %s %q", j.State, j.Error)
	}
}

// Admission: "retry later" leaves the message for a worker that fits it;
// another error fails the job with the reason.
func TestAdmission(t *testing.T) {
	e := setup(t, bus.LayoutConfig{})
	var mu sync.Mutex
	var who string
	h := func(name string) stages.Handler {
		return stages.HandlerFunc(func(ctx context.Context, d stages.Delivery) error {
			mu.Lock()
			who = name
			mu.Unlock()
			return succeed(ctx, d)
		})
	}
	var refused atomic.Int32
	refusedOnce := make(chan struct{})
	e.run(t, h("small"), func(c *worker.Config) {
		c.Admit = func(ctx context.Context, r worker.AdmitRequest) (func(), error) {
			if refused.Add(1) == 1 {
				close(refusedOnce)
			}
			return nil, errors.Join(stages.ErrRetryLater, errors.New("needs 9 GiB, have 1"))
		}
	})
	first := e.submit(t, orchestrator.SubmitOptions{})
	// Only the small worker runs: the job waits, refused at least once.
	<-refusedOnce
	released := make(chan struct{}, 2)
	e.run(t, h("big"), func(c *worker.Config) {
		c.Admit = func(context.Context, worker.AdmitRequest) (func(), error) {
			return func() { released <- struct{}{} }, nil
		}
	})
	if j := e.wait(t, first); j.State != protocol.StateSucceeded {
		t.Fatalf("job: %s %q", j.State, j.Error)
	}
	mu.Lock()
	defer mu.Unlock()
	if who != "big" || refused.Load() == 0 {
		t.Fatalf("handled by %q after %d refusals", who, refused.Load())
	}
	select {
	case <-released: // the admission is released once the handler returned
	case <-bustest.Ctx(t, 10*time.Second).Done():
		t.Fatal("admission never released")
	}

	e2 := setup(t, bus.LayoutConfig{})
	e2.run(t, h("any"), func(c *worker.Config) {
		c.Admit = func(context.Context, worker.AdmitRequest) (func(), error) {
			return nil, errors.New("needs 900 GiB, the largest budget is 64 GiB")
		}
	})
	j := e2.wait(t, e2.submit(t, orchestrator.SubmitOptions{}))
	if j.State != protocol.StateFailed || !strings.Contains(j.Error, "largest budget") {
		t.Fatalf("job: %s %q", j.State, j.Error)
	}
}

// Submissions beyond the layout's MaxQueue are refused (bounded queue).
func TestSubmitQueueBound(t *testing.T) {
	e := setup(t, bus.LayoutConfig{MaxQueue: 2})
	ctx := bustest.Ctx(t, 10*time.Second)
	if _, err := e.b.Consumer(ctx, protocol.StageTextEnc); err != nil { // a stage attached, nobody serving
		t.Fatal(err)
	}
	e.submit(t, orchestrator.SubmitOptions{})
	e.submit(t, orchestrator.SubmitOptions{})
	// The server updates a consumer's pending count asynchronously after a
	// publish, so the bound is checked once both jobs show as pending.
	c, err := e.b.Consumer(ctx, protocol.StageTextEnc)
	if err != nil {
		t.Fatal(err)
	}
	for {
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.NumPending == 2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("consumer never showed 2 pending jobs (has %d)", info.NumPending)
		case <-time.After(5 * time.Millisecond):
		}
	}
	set := protocol.DefaultSettings()
	_, err = e.store.Submit(ctx, protocol.Request{Prompt: "p"}, set, orchestrator.SubmitOptions{})
	if !errors.Is(err, orchestrator.ErrQueueFull) || !strings.Contains(err.Error(), "queue full (2 waiting, limit 2)") {
		t.Fatalf("third submission: %v", err)
	}
}

// watchPulls delivers the pull requests sent to the stage's consumer (its
// next-message subject): a slot waits in a pull once its request was seen.
func watchPulls(t *testing.T, b *bus.Bus, stage string) <-chan *nats.Msg {
	t.Helper()
	pulls := make(chan *nats.Msg, 64)
	sub, err := b.NC.ChanSubscribe("$JS.API.CONSUMER.MSG.NEXT."+protocol.StreamName+"."+protocol.ConsumerName(stage), pulls)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return pulls
}

// The stage's durable consumer deleted while the runner serves (by an
// operator, or with its stream): every slot attaches again, and a job
// submitted afterwards still runs. The slots' pull requests are watched on
// the consumer's next-message subject, so the consumer is deleted only once
// both wait in a pull (the deletion then ends their iterators at once; one
// deleted between pulls is noticed by missing heartbeats, after 30s).
func TestConsumerDeletedWhileServing(t *testing.T) {
	e := setup(t, bus.LayoutConfig{})
	ctx := bustest.Ctx(t, 30*time.Second)
	pulls := watchPulls(t, e.b, protocol.StageTextEnc)
	awaitPulls := func(n int) {
		t.Helper()
		for range n {
			select {
			case <-pulls:
			case <-ctx.Done():
				t.Fatal("slots never pulled")
			}
		}
	}
	e.run(t, stages.HandlerFunc(succeed), func(c *worker.Config) { c.Concurrency = 2 })
	// Each slot pulls once when it attaches and once after each message it
	// handled: 2 pulls at start, then 2 re-attaches + 1 after the job.
	need := 2
	for round := range 2 { // twice: a re-attached slot survives the next deletion too
		awaitPulls(need)
		need = 3
		if err := e.b.Stream.DeleteConsumer(ctx, protocol.ConsumerName(protocol.StageTextEnc)); err != nil {
			t.Fatal(err)
		}
		id := e.submit(t, orchestrator.SubmitOptions{})
		if j := e.wait(t, id); j.State != protocol.StateSucceeded {
			t.Fatalf("round %d: job after the consumer was deleted: %s %q", round, j.State, j.Error)
		}
	}
}

// A closed connection never comes back: Run ends with an error rather than
// attaching again forever while the process looks alive.
func TestClosedConnectionEndsRun(t *testing.T) {
	e := setup(t, bus.LayoutConfig{})
	ctx := bustest.Ctx(t, 30*time.Second)
	pulls := watchPulls(t, e.b, protocol.StageTextEnc)
	r, err := worker.New(worker.Config{Stage: protocol.StageTextEnc, Bus: e.b, Tracker: e.store,
		Handler: stages.HandlerFunc(succeed), Log: bustest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case <-pulls:
	case <-ctx.Done():
		t.Fatal("slot never pulled")
	}
	e.b.NC.Close()
	select {
	case err := <-done:
		if !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, jetstream.ErrConnectionClosed) {
			t.Fatalf("Run after the connection closed: %v, want connection closed", err)
		}
	case <-ctx.Done():
		t.Fatal("Run did not end after the connection closed")
	}
}

// blockSteps records through the store, but holds every step event until
// release is closed: a stream slow to ack. A step held for 3 s is dropped
// with an error instead (a handler that waited for it would never close
// release).
type blockSteps struct {
	*orchestrator.Store
	release  chan struct{}
	recorded atomic.Int32 // step events written
}

func (b *blockSteps) Record(ctx context.Context, ev protocol.Event) error {
	if ev.Kind == protocol.EventStep {
		select {
		case <-b.release:
		case <-time.After(3 * time.Second):
			return errors.New("step event held: the handler waited for it")
		case <-ctx.Done():
			return ctx.Err()
		}
		defer b.recorded.Add(1)
	}
	return b.Store.Record(ctx, ev)
}

// A handler's step events do not wait for the stream: all 20 Reports
// return while the stream holds them back. What follows them (an output,
// the next event) waits until they are written, and the stream has them in
// order, before the job's end.
func TestStepEventsDoNotWaitForTheStream(t *testing.T) {
	e := setup(t, bus.LayoutConfig{})
	tr := &blockSteps{Store: e.store, release: make(chan struct{})}
	const n = 20
	var reported, afterPublish atomic.Int32
	e.run(t, stages.HandlerFunc(func(ctx context.Context, d stages.Delivery) error {
		for i := 1; i <= n; i++ {
			d.Report(ctx, protocol.Event{Kind: protocol.EventStep, Step: i, Total: n})
		}
		reported.Store(n) // every Report returned with the steps still held
		close(tr.release)
		out := &protocol.Envelope{}
		if err := out.SetBody(protocol.TextBody{}); err != nil {
			return err
		}
		if err := d.Publish(ctx, protocol.TextSubject(d.Envelope().Job), out); err != nil {
			return err
		}
		afterPublish.Store(tr.recorded.Load())
		return succeed(ctx, d)
	}), func(c *worker.Config) { c.Tracker = tr })

	id := e.submit(t, orchestrator.SubmitOptions{})
	if j := e.wait(t, id); j.State != protocol.StateSucceeded {
		t.Fatalf("job %s: %s (%s)", id, j.State, j.Error)
	}
	if reported.Load() != n {
		t.Fatal("the handler's Reports did not all return")
	}
	if got := afterPublish.Load(); got != n {
		t.Errorf("the output was published with %d of %d step events written", got, n)
	}
	evs, err := e.store.Events(bustest.Ctx(t, 10*time.Second), id)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	step := 0
	for _, ev := range evs {
		if ev.Stage != protocol.StageTextEnc {
			continue
		}
		kinds = append(kinds, ev.Kind)
		if ev.Kind == protocol.EventStep {
			if step++; ev.Step != step {
				t.Errorf("step event %d says step %d", step, ev.Step)
			}
		}
	}
	want := append(append([]string{protocol.EventStarted}, slices.Repeat([]string{protocol.EventStep}, n)...), protocol.EventSucceeded)
	if !slices.Equal(kinds, want) {
		t.Errorf("textenc's events %v, want %v", kinds, want)
	}
}

// Steps reported before the job is cancelled are written even though the
// job's context ends while they wait (the stream shows where the handler
// really stopped); a step reported after that is dropped, as a write with
// the ended context would have been.
func TestQueuedStepsOutliveTheCancel(t *testing.T) {
	e := setup(t, bus.LayoutConfig{})
	tr := &blockSteps{Store: e.store, release: make(chan struct{})}
	e.run(t, stages.HandlerFunc(func(ctx context.Context, d stages.Delivery) error {
		for i := 1; i <= 3; i++ {
			d.Report(ctx, protocol.Event{Kind: protocol.EventStep, Step: i, Total: 4})
		}
		if err := e.store.Cancel(context.WithoutCancel(ctx), d.Envelope().Job, "test"); err != nil {
			return err
		}
		<-ctx.Done() // the runner saw the job end
		d.Report(ctx, protocol.Event{Kind: protocol.EventStep, Step: 4, Total: 4})
		close(tr.release)
		return ctx.Err()
	}), func(c *worker.Config) { c.Tracker = tr })

	id := e.submit(t, orchestrator.SubmitOptions{})
	if j := e.wait(t, id); j.State != protocol.StateCancelled {
		t.Fatalf("job %s: %s, want cancelled", id, j.State)
	}
	ctx := bustest.Ctx(t, 10*time.Second)
	var steps []int
	for !slices.Equal(steps, []int{1, 2, 3}) { // written after the record turned cancelled
		evs, err := e.store.Events(ctx, id)
		if err != nil {
			t.Fatalf("events: %v (steps so far %v)", err, steps)
		}
		steps = steps[:0]
		for _, ev := range evs {
			if ev.Kind == protocol.EventStep {
				steps = append(steps, ev.Step)
			}
		}
		if len(steps) > 3 {
			t.Fatalf("steps %v: the one reported after the cancel was written", steps)
		}
		time.Sleep(5 * time.Millisecond) // polling the stream for the condition
	}
}
