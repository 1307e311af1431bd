package encode_test

import (
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/encode"
	"github.com/reel-video/reel/stages/stagetest"
)

// wedgeStage is the encode stage with one runner slot per unit of
// concurrency as the pipeline opens them, and the given chunk wait.
func wedgeStage(f *fixtures, chunkWait time.Duration, slots int) stagetest.Stage {
	return stagetest.Stage{
		Name: protocol.StageEncode,
		Handler: func(t testing.TB) stages.Handler {
			c := stagetest.Engine(t).Config()
			h, err := encode.New(encode.Config{Width: c.Width, Height: c.Height, FPS: c.FPS,
				FramesPerChunk: c.FramesPerChunk, WorkDir: t.TempDir(), ChunkWait: chunkWait})
			if err != nil {
				t.Fatal(err)
			}
			return h
		},
		Settings: stagetest.Settings(2, 2), Inputs: f.inputs, Outputs: f.outputs, Concurrency: slots,
	}
}

// Issue 13 item 1: a frames chunk 0 for a job nobody submitted (no record,
// no prompt) is refused at once instead of holding the only encode slot
// forever waiting for its chunk 1; a real job behind it encodes, and the
// ghost leaves no job record. Before the fix the real job stayed "encode
// queued" and the wait below timed out.
func TestGhostFramesRefused(t *testing.T) {
	f := &fixtures{}
	e := stagetest.NewEnv(t, wedgeStage(f, time.Hour, 1))
	set := stagetest.Settings(2, 2)
	e.Publish(f.inputs(t, "ghost", set)[0])
	e.Submit("real-1", set)
	e.Publish(f.inputs(t, "real-1", set)...)
	if j := e.WaitDone("real-1"); j.State != protocol.StateSucceeded {
		t.Fatalf("job behind the ghost: %s", j.Summary())
	}
	if _, err := e.Store.Get(t.Context(), "ghost"); err == nil {
		t.Fatal("the ghost job got a record")
	}
}

// Issue 13 items 1 and 3: a job whose chunk never arrives fails after the
// stage's chunk wait, naming the missing chunk, instead of waiting forever.
func TestMissingChunkFailsJob(t *testing.T) {
	f := &fixtures{}
	e := stagetest.NewEnv(t, wedgeStage(f, 300*time.Millisecond, 1))
	set := stagetest.Settings(2, 2)
	e.Submit("lost-1", set)
	e.Publish(f.inputs(t, "lost-1", set)[0])
	j := e.WaitJob("lost-1", func(j *orchestrator.Job) bool { return j.State.Terminal() })
	if j.State != protocol.StateFailed || !strings.Contains(j.Error, "frames chunks 1 of 2 did not arrive within 300ms") {
		t.Fatalf("job %s", j.Summary())
	}
}

// Issue 13 item 7: a job waiting for a chunk (held by a frozen worker) does
// not hold back finished jobs: with the slots one encode worker opens, the
// others encode while it waits. With one slot (before) they waited for it.
func TestWaitingJobDoesNotBlockOthers(t *testing.T) {
	f := &fixtures{}
	e := stagetest.NewEnv(t, wedgeStage(f, time.Hour, encode.Descriptor().Slots(1)))
	set := stagetest.Settings(2, 2)
	e.Submit("stuck-1", set)
	e.Publish(f.inputs(t, "stuck-1", set)[0])
	e.WaitJob("stuck-1", func(j *orchestrator.Job) bool { return len(j.Stages[protocol.StageEncode].Chunks) == 1 })
	for _, job := range []string{"done-1", "done-2", "done-3"} {
		e.Submit(job, set)
		e.Publish(f.inputs(t, job, set)...)
	}
	for _, job := range []string{"done-1", "done-2", "done-3"} {
		j := e.WaitJob(job, func(j *orchestrator.Job) bool { return j.State.Terminal() })
		if j.State != protocol.StateSucceeded {
			t.Fatalf("job %s", j.Summary())
		}
	}
	if j, _ := e.Store.Get(t.Context(), "stuck-1"); j.State.Terminal() {
		t.Fatalf("stuck job ended: %s", j.Summary())
	}
}
