package orchestrator_test

import (
	"context"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
)

// The WatchEnded calls of one Store (one per stage runner of a process)
// share one consumer of REEL_EVENTS: each is told of every job that ends
// while it watches, and a watch after the last one stopped starts another.
func TestWatchEndedSharesOneConsumer(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	ctx := bustest.Ctx(t, time.Minute)
	store := orchestrator.NewStore(b, bustest.Logger(t))
	consumers := func() int {
		info, err := b.Events.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Consumers
	}
	type ended struct{ job, state string }
	watch := func() (chan ended, context.CancelFunc) {
		c := make(chan ended, 8)
		wctx, cancel := context.WithCancel(ctx)
		if err := store.WatchEnded(wctx, func(job string, st protocol.State) { c <- ended{job, string(st)} }); err != nil {
			t.Fatal(err)
		}
		return c, cancel
	}
	end := func(job string) {
		if err := store.Record(ctx, protocol.Event{Job: job, Stage: protocol.StageEncode, Kind: protocol.EventSucceeded,
			Video: &protocol.VideoInfo{Object: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	got := func(c chan ended, job string) {
		t.Helper()
		select {
		case e := <-c:
			if e.job != job || e.state != string(protocol.StateSucceeded) {
				t.Errorf("told %s %s, want %s succeeded", e.job, e.state, job)
			}
		case <-ctx.Done():
			t.Fatalf("not told that %s ended", job)
		}
	}
	before := consumers()

	a, stopA := watch()
	c, stopC := watch()
	if n := consumers() - before; n != 1 {
		t.Errorf("two watches hold %d consumers, want 1", n)
	}
	end("job-1")
	got(a, "job-1")
	got(c, "job-1")

	stopA()
	end("job-2")
	got(c, "job-2")
	select {
	case e := <-a:
		t.Errorf("a stopped watch was told %s ended", e.job)
	default:
	}

	stopC()
	d, stopD := watch() // a new watch after the last one stopped starts another
	defer stopD()
	end("job-3")
	got(d, "job-3")
}
