package pipeline_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/mem"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/denoise"
	"github.com/reel-video/reel/stages/pipeline"
	"github.com/reel-video/reel/stages/textenc"
	"github.com/reel-video/reel/stages/vaedecode"
	"github.com/reel-video/reel/stages/worker"
)

// run serves o on b until the test ends.
func run(t *testing.T, b *bus.Bus, o pipeline.Options) []*worker.Runner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan []*worker.Runner, 1)
	o.Bus, o.Log = b, bustest.Logger(t)
	if o.Engine == nil && pipeline.NeedsEngine(o.Stages) {
		o.Engine = pipeline.GoEngine(engine(t))
	}
	o.Output.WorkDir = t.TempDir()
	o.Started = func(rs []*worker.Runner) { started <- rs }
	go func() { done <- pipeline.Run(ctx, o) }()
	var rs []*worker.Runner
	select {
	case rs = <-started:
	case err := <-done:
		t.Fatalf("pipeline: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pipeline: %v", err)
		}
	})
	return rs
}

// heartbeats waits until cond holds for the stage's live heartbeats.
func heartbeats(t *testing.T, b *bus.Bus, stage string, what string, cond func([]worker.WorkerInfo) bool) {
	t.Helper()
	ctx := bustest.Ctx(t, 30*time.Second)
	ws, err := worker.WatchWorkers(ctx, b.Workers, b.Cfg.WorkerTTL)
	if err != nil {
		t.Fatal(err)
	}
	for {
		changed := ws.Changed()
		if cond(ws.Stage(stage)) {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("%s workers: never %s: %+v", stage, what, ws.Stage(stage))
		}
	}
}

// Issue 13 item 5: a denoise worker whose budget is too small for any job
// (20 MiB) beside a busy big one (23 GiB) must leave the job to the big one
// without using up its deliveries. It used to nak "retry later" every
// AdmitDelay (2 s), so with MaxDeliver 2 the job died as a dead letter
// while the big worker was still busy. Now the small worker keeps the
// message in progress until the big one has a free slot, then hands it
// over: the job succeeds with at most two deliveries of its text message.
func TestSmallWorkerLeavesJobToBusyBigOneWithoutBurningDeliveries(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{Layout: bus.LayoutConfig{MaxDeliver: 2}})
	store := orchestrator.NewStore(b, bustest.Logger(t))
	run(t, b, pipeline.Options{DeadLetters: true,
		Stages: map[string]int{protocol.StageTextEnc: 1, protocol.StageVAEDecode: 1, protocol.StageEncode: 1}})

	// The big worker holds the first job it gets until released.
	held, release := make(chan string, 1), make(chan struct{})
	busy := func(next stages.Handler) stages.Handler {
		return stages.HandlerFunc(func(ctx context.Context, d stages.Delivery) error {
			select {
			case held <- d.Envelope().Job:
				select {
				case <-release:
				case <-ctx.Done():
					return ctx.Err()
				}
			default:
			}
			return next.Handle(ctx, d)
		})
	}
	big := run(t, b, pipeline.Options{Stages: map[string]int{protocol.StageDenoise: 1}, Middleware: []stages.Middleware{busy},
		Resources: pipeline.Resources{Budget: mem.Budget{Bytes: 23 * mem.GiB, Source: "test"}}})[0]
	little := run(t, b, pipeline.Options{Stages: map[string]int{protocol.StageDenoise: 1},
		Resources: pipeline.Resources{Budget: mem.Budget{Bytes: 20 * mem.MiB, Source: "test"}}})[0]
	heartbeats(t, b, protocol.StageDenoise, "both up", func(ws []worker.WorkerInfo) bool { return len(ws) == 2 })

	ctx := bustest.Ctx(t, 2*time.Minute)
	first, err := store.Submit(ctx, protocol.Request{Prompt: "a red circle"}, small(), orchestrator.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := <-held; got != first {
		t.Fatalf("big worker holds %s, want %s", got, first)
	}
	second, err := store.Submit(ctx, protocol.Request{Prompt: "a blue square"}, small(), orchestrator.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Big busy with the first job (its heartbeat says so): the small
	// worker takes the second and must keep it.
	heartbeats(t, b, protocol.StageDenoise, "small holding the second job", func(ws []worker.WorkerInfo) bool {
		for _, w := range ws {
			if w.Worker == little.Worker() && slices.Contains(w.Jobs, second) {
				return true
			}
		}
		return false
	})
	// Three times the span in which the old naks (every 2 s) used up
	// MaxDeliver 2: nothing may happen to the second job meanwhile.
	time.Sleep(6 * time.Second)
	if j, err := store.Get(ctx, second); err != nil || j.State.Terminal() {
		t.Fatalf("second job while the big worker is busy: %+v, %v", j, err)
	}
	close(release)
	for _, id := range []string{first, second} {
		j, err := store.Wait(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != protocol.StateSucceeded {
			t.Fatalf("job %s: %s %q", id, j.State, j.Error)
		}
	}
	// At most one hand-over per job: the first job too may reach the small
	// worker first (both pull), which hands it to the idle big one.
	if n := delivered(t, b, protocol.StageDenoise); n > 4 {
		t.Errorf("denoise delivered %d messages for 2 jobs, want at most 4 (one hand-over each)", n)
	}
	_ = big
}

// A job naming a model no worker serves fails with a reason that says so,
// instead of waiting forever or dying as a dead letter.
func TestJobNamingAnUnservedModelFails(t *testing.T) {
	// The verdict waits until the worker map has seen a heartbeat
	// interval (WorkerTTL/3): a short TTL keeps the test short.
	_, b := bustest.Start(t, bustest.Options{Layout: bus.LayoutConfig{WorkerTTL: 3 * time.Second}})
	store := orchestrator.NewStore(b, bustest.Logger(t))
	run(t, b, pipeline.Options{DeadLetters: true, Stages: all(1)})
	set := small()
	set.Model = "reel-huge"
	j := submitWait(t, store, "a red circle", set)
	if j.State != protocol.StateFailed || !strings.Contains(j.Error, "no worker serves model reel-huge") {
		t.Fatalf("job: %s %q", j.State, j.Error)
	}
}

// Settings beyond what the served model supports fail at intake with the
// field named.
func TestSettingsBeyondTheManifestFailNamingTheField(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	store := orchestrator.NewStore(b, bustest.Logger(t))
	eng := pipeline.GoEngine(engine(t))
	m := eng.Manifest()
	run(t, b, pipeline.Options{DeadLetters: true, Stages: all(1), Engine: limited{eng.(goEngine), 32}})
	set := small()
	set.Frames = 48
	j := submitWait(t, store, "a red circle", set)
	if j.State != protocol.StateFailed || j.FailedStage != protocol.StageTextEnc || !strings.Contains(j.Error, "frames: 48 is not a positive multiple of 16 up to 32") {
		t.Fatalf("job: %s at %q: %q (manifest %s)", j.State, j.FailedStage, j.Error, m.Model)
	}
}

// goEngine is every role the Go engine adapter plays.
type goEngine interface {
	pipeline.Engine
	pipeline.MemArch
	textenc.Encoder
	denoise.Sampler
	vaedecode.Decoder
}

// limited serves the Go engine with a manifest that allows at most
// maxFrames.
type limited struct {
	goEngine
	maxFrames int
}

func (l limited) Manifest() protocol.Manifest {
	m := l.goEngine.Manifest()
	m.MaxFrames = l.maxFrames
	return m
}
