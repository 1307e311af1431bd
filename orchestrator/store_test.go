package orchestrator_test

import (
	"sync"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
)

// Events recorded at once by many workers all land in the record (the
// workers only append; the projector folds them one at a time).
func TestRecordConcurrentEventsAllApplied(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	ctx := bustest.Ctx(t, time.Minute)
	store := orchestrator.NewStore(b, bustest.Logger(t))
	startProjector(t, store)
	set := protocol.DefaultSettings()
	set.Frames = 8 * protocol.FramesPerChunk
	id, err := store.Submit(ctx, protocol.Request{Prompt: "a red circle moving right"}, set, orchestrator.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := set.Chunks()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- store.Record(ctx, protocol.Event{Job: id, Stage: protocol.StageVAEDecode, Kind: protocol.EventChunk, Chunk: i, Count: n})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("record: %v", err)
		}
	}
	j := waitRecord(t, b, id, func(j *orchestrator.Job) bool {
		return len(j.Stages[protocol.StageVAEDecode].Chunks) == n
	})
	if s := j.Stages[protocol.StageVAEDecode]; len(s.Chunks) != n || s.State != protocol.StateSucceeded {
		t.Fatalf("vaedecode after %d concurrent chunk events: %+v", n, s)
	}
}
