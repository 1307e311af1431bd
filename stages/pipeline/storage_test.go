package pipeline_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
)

// Issue 13 items 3 and 4, on a 4 MiB stream REEL: a job that fills most of
// it runs to the end; the next one is refused at intake with "store full:
// ..." instead of evicting running work; `delete` frees the space and the
// next submit works without a restart; a job too big for the store fails
// with the server's reason rather than hanging. (With discard-old, before,
// the big job's early messages were silently dropped and it hung.)
func TestSmallStoreRefusesNewJobsNeverDropsRunningOnes(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{Layout: bus.LayoutConfig{MaxBytes: 4 << 20, MaxDeliver: 2}})
	serve(t, b, all(1))
	store := orchestrator.NewStore(b, bustest.Logger(t))
	ctx := bustest.Ctx(t, 3*time.Minute)
	set := func(frames int) protocol.Settings {
		s := small()
		s.Frames, s.Steps = frames, 1
		return s
	}
	// 256 frames: 3 MiB of frames, ~80% of the stream.
	if a := submitWait(t, store, "a red circle moving right", set(256)); a.State != protocol.StateSucceeded {
		t.Fatalf("the job that fits: %s", a.Summary())
	}
	_, err := store.Submit(ctx, protocol.Request{Prompt: "another"}, set(16), orchestrator.SubmitOptions{})
	if !errors.Is(err, bus.ErrStoreFull) || !strings.Contains(err.Error(), "store full: stream REEL holds") {
		t.Fatalf("submit into a full store: %v", err)
	}
	jobs, err := store.List(ctx)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs: %d %v", len(jobs), err)
	}
	if err := store.Delete(ctx, jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	if info, err := b.Stream.Info(ctx); err != nil || info.State.Msgs != 0 {
		t.Fatalf("after delete: %+v %v", info.State, err)
	}
	if _, err := store.Get(ctx, jobs[0].ID); !errors.Is(err, orchestrator.ErrNotFound) {
		t.Fatalf("record after delete: %v", err)
	}
	if j := submitWait(t, store, "after the delete", set(16)); j.State != protocol.StateSucceeded {
		t.Fatalf("after space returned: %s", j.Summary())
	}
	// 512 frames: 6 MiB, more than the whole stream holds.
	big := submitWait(t, store, "too big", set(512))
	if big.State != protocol.StateFailed || !strings.Contains(big.Error, "maximum bytes") {
		t.Fatalf("the job too big for the store: %s", big.Summary())
	}
}
