package orchestrator_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
)

// startProjector runs a projector until the test ends.
func startProjector(t *testing.T, store *orchestrator.Store) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- orchestrator.Projector{Store: store}.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("projector: %v", err)
		}
	})
}

// submitted starts a bus and a projector and submits one job.
func submitted(t *testing.T) (*bus.Bus, *orchestrator.Store, context.Context, string) {
	t.Helper()
	_, b := bustest.Start(t, bustest.Options{})
	store := orchestrator.NewStore(b, bustest.Logger(t))
	startProjector(t, store)
	ctx := bustest.Ctx(t, 30*time.Second)
	id, err := store.Submit(ctx, protocol.Request{Prompt: "p"}, protocol.DefaultSettings(), orchestrator.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return b, store, ctx, id
}

// waitRecord waits until job id's record in KV satisfies ok and returns it.
func waitRecord(t *testing.T, b *bus.Bus, id string, ok func(*orchestrator.Job) bool) *orchestrator.Job {
	t.Helper()
	ctx := bustest.Ctx(t, 30*time.Second)
	w, err := b.Jobs.Watch(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Stop() }()
	var last *orchestrator.Job
	for {
		select {
		case <-ctx.Done():
			t.Fatalf("record of %s never got there; last %+v", id, last)
		case e := <-w.Updates():
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			var j orchestrator.Job
			if err := json.Unmarshal(e.Value(), &j); err != nil {
				t.Fatal(err)
			}
			if last = &j; ok(&j) {
				return &j
			}
		}
	}
}

// events reads every event of a job.
func events(t *testing.T, store *orchestrator.Store, id string) []protocol.Event {
	t.Helper()
	evs, err := store.Events(bustest.Ctx(t, 10*time.Second), id)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// A plain JSON prompt published by any client is a job: the projector
// appends its submitted event (defaults filled in) and records it queued.
func TestProjectorJSONPromptIsAJob(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	store := orchestrator.NewStore(b, bustest.Logger(t))
	startProjector(t, store)
	ctx := bustest.Ctx(t, 30*time.Second)
	if _, err := b.JS.Publish(ctx, protocol.PromptSubject("j1"), []byte(`{"prompt":"a red circle moving right","settings":{"seed":4}}`)); err != nil {
		t.Fatal(err)
	}
	j := waitRecord(t, b, "j1", func(j *orchestrator.Job) bool { return j.Prompt != "" })
	want := protocol.DefaultSettings()
	want.Seed = 4
	if j.State != protocol.StateQueued || j.Prompt != "a red circle moving right" || j.Settings != want {
		t.Fatalf("record %+v", j)
	}
	evs := events(t, store, "j1")
	if len(evs) != 1 || evs[0].Kind != protocol.EventSubmitted || evs[0].Settings == nil || *evs[0].Settings != want {
		t.Fatalf("events %+v", evs)
	}
	// A second prompt on the subject is refused by the server and makes no
	// second job; Submit with the same id says so.
	if _, err := b.JS.Publish(ctx, protocol.PromptSubject("j1"), []byte(`{"prompt":"again"}`)); err == nil {
		t.Fatal("second prompt accepted")
	}
	_, err := store.Submit(ctx, protocol.Request{Prompt: "again"}, protocol.DefaultSettings(), orchestrator.SubmitOptions{ID: "j1"})
	if !errors.Is(err, orchestrator.ErrJobExists) {
		t.Fatalf("resubmit: %v", err)
	}
}

// The queue bound holds for every publisher: the job published while
// MaxQueue jobs wait (no textenc is serving) fails with the counts.
func TestProjectorQueueBound(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{Layout: bus.LayoutConfig{MaxQueue: 2}})
	store := orchestrator.NewStore(b, bustest.Logger(t))
	startProjector(t, store)
	ctx := bustest.Ctx(t, 30*time.Second)
	for _, id := range []string{"q1", "q2", "q3"} {
		if _, err := b.JS.Publish(ctx, protocol.PromptSubject(id), []byte(`{"prompt":"p"}`)); err != nil {
			t.Fatal(err)
		}
	}
	j := waitRecord(t, b, "q3", func(j *orchestrator.Job) bool { return j.State.Terminal() })
	if j.State != protocol.StateFailed || j.Error != "queue full (2 waiting, limit 2)" {
		t.Fatalf("third job: %s %q", j.State, j.Error)
	}
	for _, id := range []string{"q1", "q2"} {
		if j, err := store.Get(ctx, id); err != nil || j.State != protocol.StateQueued {
			t.Fatalf("%s: %+v %v", id, j, err)
		}
	}
	// reel submit refuses synchronously.
	_, err := store.Submit(ctx, protocol.Request{Prompt: "p"}, protocol.DefaultSettings(), orchestrator.SubmitOptions{})
	if !errors.Is(err, orchestrator.ErrQueueFull) || !strings.Contains(err.Error(), "queue full (3 waiting, limit 2)") {
		t.Fatalf("submit: %v", err)
	}
}

// The first ending event in stream order decides; the record is the fold
// of the events; cancelling an ended job names its state.
func TestProjectorFirstEndingEventWins(t *testing.T) {
	b, store, ctx, id := submitted(t)
	video := &protocol.VideoInfo{Object: protocol.VideoObject(id), Frames: 48}
	for _, ev := range []protocol.Event{
		{Job: id, Stage: protocol.StageTextEnc, Kind: protocol.EventStarted},
		{Job: id, Stage: protocol.StageEncode, Kind: protocol.EventSucceeded, Video: video},
		{Job: id, Stage: protocol.StageEncode, Kind: protocol.EventFailed, Error: "late"},
	} {
		if err := store.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	j := waitRecord(t, b, id, func(j *orchestrator.Job) bool { return j.State.Terminal() && j.Prompt != "" })
	if j.State != protocol.StateSucceeded || j.Error != "" || j.Video == nil {
		t.Fatalf("record %+v", j)
	}
	if err := store.Cancel(ctx, id, "user"); err == nil || !strings.Contains(err.Error(), "already succeeded") {
		t.Fatalf("cancel: %v", err)
	}
	folded := orchestrator.Fold(id, events(t, store, id))
	folded.Seq = j.Seq
	a, _ := json.Marshal(folded)
	c, _ := json.Marshal(j)
	if string(a) != string(c) {
		t.Fatalf("record disagrees with its events:\n%s\n%s", c, a)
	}
	// Wait reads the events: the same end.
	w, err := store.Wait(ctx, id)
	if err != nil || w.State != protocol.StateSucceeded {
		t.Fatalf("wait: %+v %v", w, err)
	}
}

// A burst of concurrent publishers (no textenc serving) leaves exactly
// MaxQueue jobs queued: the bound is taken in the projector's stream order,
// not from the submitter's view of the queue (issue 13 item 9: `reel
// submit` alone once accepted 9 of a burst for a limit of 5).
func TestProjectorQueueBoundUnderConcurrentPublishes(t *testing.T) {
	const limit, burst = 10, 100
	_, b := bustest.Start(t, bustest.Options{Layout: bus.LayoutConfig{MaxQueue: limit}})
	store := orchestrator.NewStore(b, bustest.Logger(t))
	startProjector(t, store)
	ctx := bustest.Ctx(t, 30*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, burst)
	for i := range burst {
		wg.Go(func() {
			if _, err := b.JS.Publish(ctx, protocol.PromptSubject(fmt.Sprintf("c%d", i)), []byte(`{"prompt":"p"}`)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The projector has taken every prompt (and written its verdict)
	// once its prompts consumer has acknowledged them all.
	for {
		c, err := b.Stream.Consumer(ctx, bus.ProjectorPromptsConsumer)
		var info *jetstream.ConsumerInfo
		if err == nil {
			info, err = c.Info(ctx)
		}
		if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			t.Fatal(err)
		}
		if info != nil && info.AckFloor.Stream >= burst && info.NumAckPending == 0 { // the prompts are seqs 1..burst
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("projector: %+v %v", info, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	queued := 0
	for i := range burst {
		evs, err := store.Events(ctx, fmt.Sprintf("c%d", i))
		if err != nil {
			t.Fatal(err)
		}
		j := orchestrator.Fold(fmt.Sprintf("c%d", i), evs)
		if j.State == protocol.StateFailed {
			if !strings.HasPrefix(j.Error, "queue full") {
				t.Errorf("c%d: %s", i, j.Summary())
			}
			continue
		}
		queued++
	}
	if queued != limit {
		t.Fatalf("%d of %d jobs queued, limit %d", queued, burst, limit)
	}
}

// The projector folds a job's next event into the record it wrote last
// (foldCache) without reading it back; a record another writer changed in
// between (another projector host, a delete) fails the write's revision
// check, is read again, and keeps that writer's change.
func TestProjectorFoldsPastAnotherWriter(t *testing.T) {
	b, store, ctx, id := submitted(t)
	step := func(i int) {
		if err := store.Record(ctx, protocol.Event{Job: id, Stage: protocol.StageDenoise, Kind: protocol.EventStep, Step: i, Total: 3}); err != nil {
			t.Fatal(err)
		}
	}
	stepIs := func(i int) func(*orchestrator.Job) bool {
		return func(j *orchestrator.Job) bool {
			st := j.Stages[protocol.StageDenoise]
			return st != nil && st.Step == i
		}
	}
	step(1)
	// The submitted event (which sets the negative prompt) may land after
	// step 1: wait for both.
	waitRecord(t, b, id, func(j *orchestrator.Job) bool { return stepIs(1)(j) && j.Prompt != "" })

	// Another writer changes the record behind the projector's back.
	e, err := b.Jobs.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var j orchestrator.Job
	if err := json.Unmarshal(e.Value(), &j); err != nil {
		t.Fatal(err)
	}
	j.Negative = "written by another host"
	data, _ := json.Marshal(j)
	if _, err := b.Jobs.Update(ctx, id, data, e.Revision()); err != nil {
		t.Fatal(err)
	}

	step(2)
	got := waitRecord(t, b, id, stepIs(2))
	if got.Negative != "written by another host" {
		t.Errorf("the fold of step 2 lost the other writer's change: negative %q", got.Negative)
	}
	step(3) // and folds on from the record it wrote after re-reading
	if got = waitRecord(t, b, id, stepIs(3)); got.Negative != "written by another host" {
		t.Errorf("step 3: negative %q", got.Negative)
	}
}
