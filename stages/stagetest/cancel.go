package stagetest

import (
	"bytes"
	"encoding/json"
	"maps"
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
)

// 4. A job cancelled while its message is being handled stops, ends
// cancelled, and nothing is published after the cancel.
func testCancel(t *testing.T, s Stage) {
	if s.Cancel == nil {
		testCancelHeld(t, s)
		return
	}
	cp := s.Cancel
	e := NewEnv(t, s)
	const job = "cancel-1"
	sub, err := e.Bus.NC.SubscribeSync(protocol.EventSubject(job))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	e.Submit(job, cp.Settings)
	in := e.Inputs(job, cp.Settings)
	if cp.Publish != nil {
		in = cp.Publish(in)
	}
	e.Publish(in...)
	ctx := e.ctx()
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			t.Fatalf("cancel point never reached: %v", err)
		}
		var ev protocol.Event
		if json.Unmarshal(m.Data, &ev) == nil && cp.Reached(ev) {
			break
		}
	}
	if err := e.Store.Cancel(ctx, job, "stagetest"); err != nil {
		t.Fatal(err)
	}
	at, err := e.Store.Get(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	atCancel := e.Raw(job)
	calls := e.Calls(job, func(c []Call) bool { return len(c) > 0 && c[len(c)-1].Done })
	if last := calls[len(calls)-1]; last.Err == nil {
		t.Errorf("handler finished its work despite the cancel: %+v", calls)
	}
	e.Settled()
	checkCancelled(t, e, job, atCancel)
	if cp.Check != nil {
		cp.Check(t, at, e.Events(job))
	}
}

// testCancelHeld cancels a job while its (first) message is held before the
// handler: the handler then runs with an ended context and must publish
// nothing; the job's other messages never reach it.
func testCancelHeld(t *testing.T, s Stage) {
	held := make(chan string, 64)
	e := newEnv(t, s, holdUntilEnded(held))
	const job = "cancel-1"
	e.Submit(job, s.Settings)
	in := e.Inputs(job, s.Settings)
	e.Publish(in...)
	if got := waitChan(t, e, held); got != job {
		t.Fatalf("held %s, want %s", got, job)
	}
	atCancel := e.Raw(job)
	if err := e.Store.Cancel(e.ctx(), job, "stagetest"); err != nil {
		t.Fatal(err)
	}
	calls := e.Calls(job, func(c []Call) bool { return len(c) > 0 && c[0].Done })
	if calls[0].Err == nil {
		t.Errorf("handler returned no error with its job cancelled: %+v", calls[0])
	}
	info := e.Settled()
	if calls := e.Calls(job, func([]Call) bool { return true }); len(calls) != 1 {
		t.Errorf("handler ran %d times after the cancel, want 1 (the held one)", len(calls))
	}
	if n := len(e.triggers(in)); info.Delivered.Consumer != uint64(n) {
		t.Errorf("consumer delivered %d times for %d messages", info.Delivered.Consumer, n)
	}
	checkCancelled(t, e, job, atCancel)
}

func checkCancelled(t *testing.T, e *Env, job string, atCancel map[string][]byte) {
	t.Helper()
	if after := e.Raw(job); !maps.EqualFunc(atCancel, after, bytes.Equal) {
		t.Errorf("published after the cancel: %v, then %v", keys(atCancel), keys(after))
	}
	// The record is a projection of the events: wait for it to end.
	j := e.WaitJob(job, func(j *orchestrator.Job) bool { return j.State.Terminal() })
	if j.State != protocol.StateCancelled {
		t.Errorf("job %s, want cancelled", j.Summary())
	}
}
