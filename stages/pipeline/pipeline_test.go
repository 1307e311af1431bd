package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/denoise"
	"github.com/reel-video/reel/stages/pipeline"
	"github.com/reel-video/reel/stages/pipeline/pipelinetest"
	"github.com/reel-video/reel/stages/stagetest/fixture"
)

// engine is the Go engine on the built-in weights, loaded once per test
// binary (fixture.Engine).
func engine(t *testing.T) *model.Engine { return fixture.Engine(t) }

func small() protocol.Settings {
	s := protocol.DefaultSettings()
	s.Frames, s.Steps, s.Seed = 16, 3, 7
	return s
}

// serve runs stages on b until the test ends.
func serve(t *testing.T, b *bus.Bus, st map[string]int, mw ...stages.Middleware) {
	t.Helper()
	pipelinetest.Serve(t, pipeline.Options{
		Bus: b, Stages: st, Engine: pipeline.GoEngine(engine(t)), DeadLetters: true, Middleware: mw,
		Output: stages.OutputDefaults{WorkDir: t.TempDir()},
		Log:    bustest.Logger(t),
	})
}

func all(vae int) map[string]int {
	return map[string]int{protocol.StageTextEnc: 1, protocol.StageDenoise: 1, protocol.StageVAEDecode: vae, protocol.StageEncode: 1}
}

func submitWait(t *testing.T, s *orchestrator.Store, prompt string, set protocol.Settings) *orchestrator.Job {
	t.Helper()
	ctx := bustest.Ctx(t, 2*time.Minute)
	id, err := s.Submit(ctx, protocol.Request{Prompt: prompt}, set, orchestrator.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.Wait(ctx, id)
	if err != nil {
		t.Fatalf("wait %s: %v", id, err)
	}
	return j
}

func TestPipelineInProcess(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	serve(t, b, all(1))
	store := orchestrator.NewStore(b, bustest.Logger(t))
	j := submitWait(t, store, "a red ball bouncing", small())
	if j.State != protocol.StateSucceeded || j.Video == nil {
		t.Fatalf("job %s: %s %q", j.ID, j.State, j.Error)
	}
	for _, s := range protocol.Stages() {
		if st := j.Stages[s]; st.State != protocol.StateSucceeded {
			t.Errorf("stage %s: %s", s, st.State)
		}
	}
	mp4, err := b.GetBlob(bustest.Ctx(t, time.Minute), j.Video.Object)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "out.mp4")
	if err := os.WriteFile(path, mp4, 0o644); err != nil {
		t.Fatal(err)
	}
	if p, want := bustest.FFprobe(t, path), (bustest.Probe{Codec: "h264", PixFmt: "yuv420p", Size: "64x64", Rate: "8/1", Frames: "16"}); p != want {
		t.Errorf("ffprobe: %+v, want %+v", p, want)
	}
	if j.Video.Encoder != "ffmpeg" && j.Video.Encoder != "purego" {
		t.Errorf("encoder %q", j.Video.Encoder)
	}
}

// Poison messages on the prompt subject fail their jobs with a reason and
// are terminated; a good job submitted after them succeeds. The second and
// third poison are what the fuzzer found: eight bytes declaring a map of
// 2.3 billion entries, bare and inside a msgpack extension, which made the
// decoder allocate until the kernel killed the stage.
func TestPoisonPromptFailsJobThenGoodJobSucceeds(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	serve(t, b, all(1))
	store := orchestrator.NewStore(b, bustest.Logger(t))
	ctx := bustest.Ctx(t, 2*time.Minute)

	poisons := []struct{ job, data, reason string }{
		{"poison1", "\x93this is not an envelope", "malformed"},
		{"poison2", "\xdf\x89\x66\x8b\xb7\x5d\x32\x83", "declares 4610398062 elements"},
		{"poison3", "\xd60\xdf00000", "extension type"},
	}
	for _, p := range poisons {
		m := nats.NewMsg(protocol.PromptSubject(p.job))
		m.Data = []byte(p.data)
		if _, err := b.JS.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range poisons {
		j := waitState(t, store, p.job)
		if j.State != protocol.StateFailed || !strings.Contains(j.Error, "malformed") ||
			!strings.Contains(j.Error, p.reason) || j.FailedStage != protocol.StageTextEnc {
			t.Fatalf("poison job %s: %s stage %q error %q", p.job, j.State, j.FailedStage, j.Error)
		}
	}
	// Terminated, not redelivered: the consumer has nothing pending.
	cons, err := b.Consumer(ctx, protocol.StageTextEnc)
	if err != nil {
		t.Fatal(err)
	}
	good := submitWait(t, store, "a calm lake", small())
	if good.State != protocol.StateSucceeded {
		t.Fatalf("good job after poison: %s %q", good.State, good.Error)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 || info.NumRedelivered != 0 {
		t.Fatalf("textenc consumer: %d ack pending, %d redelivered", info.NumAckPending, info.NumRedelivered)
	}
}

func waitState(t *testing.T, s *orchestrator.Store, id string) *orchestrator.Job {
	t.Helper()
	j, err := s.Wait(bustest.Ctx(t, time.Minute), id)
	if err != nil {
		t.Fatalf("wait %s: %v", id, err)
	}
	return j
}

// barrier holds each vaedecode message until n are held at once: proof that
// n workers decode chunks of one job in parallel.
func barrier(n int) (stages.Middleware, func() int) {
	var mu sync.Mutex
	held, max := 0, 0
	ready := make(chan struct{})
	return func(next stages.Handler) stages.Handler {
			return stages.HandlerFunc(func(ctx context.Context, d stages.Delivery) error {
				if s, _ := protocol.ParseSubject(d.Subject()); s.Kind == protocol.KindLatent {
					mu.Lock()
					held++
					if held > max {
						max = held
					}
					if held == n {
						close(ready)
					}
					mu.Unlock()
					select {
					case <-ready:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				return next.Handle(ctx, d)
			})
		}, func() int {
			mu.Lock()
			defer mu.Unlock()
			return max
		}
}

// Same prompt and seed give identical frames with 1 or 3 vaedecode workers,
// and with 3 workers each decodes a chunk of the job in parallel.
func TestDeterministicAcrossVAEWorkers(t *testing.T) {
	set := small()
	set.Frames = 48

	_, b1 := bustest.Start(t, bustest.Options{})
	serve(t, b1, all(1))
	j1 := submitWait(t, orchestrator.NewStore(b1, bustest.Logger(t)), "waves on a beach", set)

	_, b3 := bustest.Start(t, bustest.Options{})
	serve(t, b3, map[string]int{protocol.StageTextEnc: 1, protocol.StageDenoise: 1, protocol.StageEncode: 1})
	mw, maxHeld := barrier(3)
	for range 3 {
		serve(t, b3, map[string]int{protocol.StageVAEDecode: 1}, mw)
	}
	j3 := submitWait(t, orchestrator.NewStore(b3, bustest.Logger(t)), "waves on a beach", set)

	for _, j := range []*orchestrator.Job{j1, j3} {
		if j.State != protocol.StateSucceeded {
			t.Fatalf("job %s: %s %q", j.ID, j.State, j.Error)
		}
	}
	if j1.Video.FramesSHA256 != j3.Video.FramesSHA256 || j1.Video.Frames != 48 {
		t.Fatalf("frames differ: 1 worker %s, 3 workers %s", j1.Video.FramesSHA256, j3.Video.FramesSHA256)
	}
	if got := len(j3.Stages[protocol.StageVAEDecode].Workers); got != 3 || maxHeld() != 3 {
		t.Fatalf("3 workers: %d decoded chunks, %d held at once", got, maxHeld())
	}
}

// A latent chunk of a job nobody submitted (issue 13: forged or stray
// messages) is refused and terminated at vaedecode, leaves no job record
// (not even through its dead-letter advisory), and vaedecode keeps serving
// other jobs. Bad shapes of known jobs are the conformance suite's.
func TestUnknownJobMessageRefused(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	serve(t, b, all(1))
	store := orchestrator.NewStore(b, bustest.Logger(t))
	ctx := bustest.Ctx(t, time.Minute)
	env := &protocol.Envelope{Job: "ghost", Stage: protocol.StageDenoise, Settings: small(), Chunk: 0, Count: 1}
	if err := env.SetBody(protocol.LatentBody{Latent: protocol.F32Tensor(make([]float32, 8*4*8*8), 8, 4, 8, 8)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PublishOnce(ctx, protocol.LatentSubject("ghost", 0), env); err != nil {
		t.Fatal(err)
	}
	if good := submitWait(t, store, "still serving", small()); good.State != protocol.StateSucceeded {
		t.Fatalf("next job: %s %q", good.State, good.Error)
	}
	// The ghost's termination advisory has been handled once the
	// dead-letter consumer has nothing pending.
	for {
		c, err := b.DLQ.Consumer(ctx, "reel-deadletters")
		if err == nil {
			info, err := c.Info(ctx)
			if err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Stream > 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("the ghost's dead letter was never handled")
		case <-time.After(20 * time.Millisecond): // consumer state has no push notification
		}
	}
	if _, err := store.Get(ctx, "ghost"); !errors.Is(err, orchestrator.ErrNotFound) {
		t.Fatalf("ghost job: %v, want no record", err)
	}
}

// With a server max_payload of 64 KiB, text embeddings (2×96 KiB) and frame
// chunks (192 KiB) go through the object-store claim check.
func TestPipelineWithSmallMaxPayload(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{MaxPayload: 64 << 10})
	serve(t, b, all(1))
	j := submitWait(t, orchestrator.NewStore(b, bustest.Logger(t)), "big payloads", small())
	if j.State != protocol.StateSucceeded || j.Video.Frames != 16 {
		t.Fatalf("job: %s %q", j.State, j.Error)
	}
	ctx := bustest.Ctx(t, time.Minute)
	m, err := b.LastMsg(ctx, protocol.FramesSubject(j.ID, 0))
	if err != nil {
		t.Fatal(err)
	}
	env, err := protocol.UnmarshalEnvelope(m.Data)
	if err != nil || env.Claim == nil || env.Claim.Size <= 64<<10 {
		t.Fatalf("frames message is not a claim check: %+v %v", env.Claim, err)
	}
}

// Cancel during denoise stops the sampler within one step.
func TestCancelDuringDenoise(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	stopped := make(chan error, 1)
	watch := func(next stages.Handler) stages.Handler {
		return stages.HandlerFunc(func(ctx context.Context, d stages.Delivery) error {
			err := next.Handle(ctx, d)
			if s, _ := protocol.ParseSubject(d.Subject()); s.Kind == protocol.KindText {
				stopped <- err
			}
			return err
		})
	}
	serve(t, b, all(1), watch)
	store := orchestrator.NewStore(b, bustest.Logger(t))
	ctx := bustest.Ctx(t, 2*time.Minute)
	set := small()
	set.Frames, set.Steps = 48, 200
	id, err := store.Submit(ctx, protocol.Request{Prompt: "long"}, set, orchestrator.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Wait for step 2 through the events stream, then cancel.
	sub, err := b.NC.SubscribeSync(protocol.EventSubject(id))
	if err != nil {
		t.Fatal(err)
	}
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(m.Data), `"step":2,`) {
			break
		}
	}
	_ = sub.Unsubscribe()
	if err := store.Cancel(ctx, id, "test"); err != nil {
		t.Fatal(err)
	}
	if err := <-stopped; err == nil {
		t.Fatal("denoise finished despite the cancel")
	}
	// The events stream, not the projection (which may trail it), says
	// how the job ended and where denoise stopped.
	j, err := store.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != protocol.StateCancelled {
		t.Fatalf("job %s", j.State)
	}
	before, after := stepsAround(t, b, id)
	if after > 1 || before >= 200 {
		t.Fatalf("denoise reported %d steps after a cancel at step %d", after, before)
	}
}

// stepsAround reads a job's events once its handlers have stopped: the
// highest denoise step before the cancelled event in stream order, and how
// many step events came after it.
func stepsAround(t *testing.T, b *bus.Bus, id string) (before, after int) {
	t.Helper()
	ctx := bustest.Ctx(t, 30*time.Second)
	c, err := b.JS.OrderedConsumer(ctx, protocol.EventsStreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{protocol.EventSubject(id)}})
	if err != nil {
		t.Fatal(err)
	}
	cancelled := false
	for {
		m, err := c.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatalf("read events: %v", err)
		}
		var ev protocol.Event
		if json.Unmarshal(m.Data(), &ev) == nil {
			switch {
			case ev.Kind == protocol.EventCancelled:
				cancelled = true
			case ev.Kind == protocol.EventStep && cancelled:
				after++
			case ev.Kind == protocol.EventStep:
				before = max(before, ev.Step)
			}
		}
		if md, _ := m.Metadata(); md != nil && md.NumPending == 0 {
			return before, after
		}
	}
}

func delivered(t *testing.T, b *bus.Bus, stage string) uint64 {
	t.Helper()
	c, err := b.Consumer(bustest.Ctx(t, 10*time.Second), stage)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(bustest.Ctx(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return info.Delivered.Consumer
}

// Replay from a stage's persisted input: upstream stages are not run, the
// result is a new job linked to the original, which stays retrievable.
func TestReplay(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	serve(t, b, all(2))
	store := orchestrator.NewStore(b, bustest.Logger(t))
	ctx := bustest.Ctx(t, 2*time.Minute)
	set := small()
	set.Frames = 32
	orig := submitWait(t, store, "a lighthouse at night", set)
	if orig.State != protocol.StateSucceeded {
		t.Fatalf("original: %s %q", orig.State, orig.Error)
	}
	textRuns, denoiseRuns := delivered(t, b, protocol.StageTextEnc), delivered(t, b, protocol.StageDenoise)

	replay := func(stage string, kv map[string]string) *orchestrator.Job {
		t.Helper()
		id, err := store.Replay(ctx, orchestrator.ReplayRequest{Stage: stage, Job: orig.ID, Set: kv})
		if err != nil {
			t.Fatalf("replay %s: %v", stage, err)
		}
		j := waitState(t, store, id)
		if j.State != protocol.StateSucceeded || j.Parent != orig.ID || j.ReplayFrom != stage {
			t.Fatalf("replay %s: %s %q parent %q", stage, j.State, j.Error, j.Parent)
		}
		return j
	}
	vae := replay(protocol.StageVAEDecode, nil)
	if vae.Video.FramesSHA256 != orig.Video.FramesSHA256 {
		t.Fatal("vaedecode replay: frames differ from the original")
	}
	if s := vae.Stages[protocol.StageDenoise]; s.ReusedFrom != orig.ID || len(s.Workers) != 0 {
		t.Fatalf("vaedecode replay ran denoise: %+v", s)
	}
	enc := replay(protocol.StageEncode, map[string]string{"fps": "16", "seam_blend": "0"})
	if enc.Video.FPS != 16 || enc.Video.FramesSHA256 != orig.Video.FramesSHA256 || enc.Video.Seconds != 2 {
		t.Fatalf("encode replay: %+v", enc.Video)
	}
	if got, got2 := delivered(t, b, protocol.StageTextEnc), delivered(t, b, protocol.StageDenoise); got != textRuns || got2 != denoiseRuns {
		t.Fatalf("replays of vaedecode/encode ran textenc %d→%d, denoise %d→%d times", textRuns, got, denoiseRuns, got2)
	}
	den := replay(protocol.StageDenoise, map[string]string{"seed": "99"})
	if den.Video.FramesSHA256 == orig.Video.FramesSHA256 || den.Settings.Seed != 99 {
		t.Fatal("denoise replay with another seed gave the same frames")
	}
	if got := delivered(t, b, protocol.StageTextEnc); got != textRuns {
		t.Fatalf("denoise replay re-encoded the text (%d→%d)", textRuns, got)
	}
	if _, err := b.GetBlob(ctx, orig.Video.Object); err != nil {
		t.Fatalf("original video gone: %v", err)
	}

	// Overrides that make no sense for the stage are refused, naming the key.
	_, err := store.Replay(ctx, orchestrator.ReplayRequest{Stage: protocol.StageVAEDecode, Job: orig.ID, Set: map[string]string{"seed": "1"}})
	if err == nil || !strings.Contains(err.Error(), "seed: cannot be changed when replaying from vaedecode") {
		t.Fatalf("seed override on vaedecode: %v", err)
	}
	// Input that is gone: a clear error naming what is missing and the retention.
	if err := b.Stream.Purge(ctx, jetstream.WithPurgeSubject(protocol.LatentSubject(orig.ID, 1))); err != nil {
		t.Fatal(err)
	}
	_, err = store.Replay(ctx, orchestrator.ReplayRequest{Stage: protocol.StageVAEDecode, Job: orig.ID})
	if !errors.Is(err, protocol.ErrMissing) || !strings.Contains(err.Error(), "reel.latent."+orig.ID+".1") || !strings.Contains(err.Error(), "retention") {
		t.Fatalf("replay of purged input: %v", err)
	}

	// A time window: every job whose encode input lies in it.
	var got []string
	n, err := store.ReplayWindow(ctx, protocol.StageEncode, orig.Created.Add(-time.Second), time.Time{}, nil, func(parent, child string, err error) {
		if err != nil {
			t.Errorf("window replay of %s: %v", parent, err)
		}
		got = append(got, parent)
	})
	if err != nil || n != 4 || !slices.Contains(got, orig.ID) {
		t.Fatalf("window: %d jobs %v, %v", n, got, err)
	}
}

// The denoise stage's chunking equals the engine's.
func TestChunkMatchesModel(t *testing.T) {
	const c, tt, plane = 8, 12, 64
	lat := make([]float32, c*tt*plane)
	for i := range lat {
		lat[i] = float32(i)
	}
	for i := range tt / 4 {
		if got, want := denoise.Chunk(lat, c, tt, 4, plane, i), model.LatentChunk(lat, tt, i); !slices.Equal(got, want) {
			t.Fatalf("chunk %d differs", i)
		}
	}
}

// A context that ends while Run is still starting (the worker watch, the
// consumers, the projector) is the stop Run serves until, not an error:
// `reel server` stopped by a signal right after it started exited 1 with
// "context canceled". Run is stopped at once and after growing delays, so
// that some stops land in each part of the start-up.
func TestRunStoppedWhileStarting(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	for _, after := range []time.Duration{0, 100 * time.Microsecond, time.Millisecond, 3 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond} {
		ctx, cancel := context.WithCancel(context.Background())
		if after == 0 {
			cancel()
		} else {
			time.AfterFunc(after, cancel)
		}
		err := pipeline.Run(ctx, pipeline.Options{Bus: b, Stages: map[string]int{protocol.StageEncode: 1}, DeadLetters: true,
			Output: stages.OutputDefaults{WorkDir: t.TempDir(), FFmpeg: "none"}, Log: bustest.Logger(t)})
		cancel()
		if err != nil {
			t.Errorf("stopped %v after the start: Run returned %v, want nil", after, err)
		}
	}
}
