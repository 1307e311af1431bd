package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/envconfig"
	"github.com/reel-video/reel/internal/mem"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/worker"
	"github.com/rs/zerolog"
)

// Resources is the resource policy of a stage process, the same whichever
// command runs the stages (reel generate, reel server --replicas, reel
// stage): a memory budget every message is admitted against, what the
// worker heartbeats say about its device, and the VAE heap limit.
type Resources struct {
	// Budget is the process's memory budget (mem.DetectBudget); zero
	// bytes admits by model and settings only.
	Budget mem.Budget
	// Runtime is the process's RSS before it loaded an engine (what the
	// estimates add the model to); 0 is the reel binary's typical one.
	Runtime int64
	// LimitVAEHeap sets the Go memory limit of a process that runs only
	// vaedecode slots (see limitVAEHeap); a GOMEMLIMIT set by the operator
	// wins.
	LimitVAEHeap bool
	// Describe adds device details (internal/gpu) to each heartbeat.
	Describe func(info *worker.WorkerInfo)
	// Poll bounds how long an admission waits before it looks at the
	// worker map again (default 1s; updates wake it sooner).
	Poll time.Duration
	// RunnerDevice is where a runner computes unless told otherwise:
	// "cuda:N" for the pinned GPU (N its visible index), else "cpu".
	RunnerDevice string
}

// MemArch is implemented by an engine whose weights live in this process:
// its layer widths, for the activation estimates. An engine without it
// (a runner process) keeps its memory elsewhere, so only model and
// settings are checked here.
type MemArch interface {
	MemArch() mem.Arch
}

// policy admits one stage's messages in this process.
type policy struct {
	desc     stages.Descriptor
	self     string             // this runner's worker id
	manifest *protocol.Manifest // the local engine's model; nil: none here
	est      mem.Estimator
	estimate bool      // est.Arch is known (or the stage needs none)
	gate     *mem.Gate // shared by the process's stages; nil: no budget
	workers  *worker.Workers
	poll     time.Duration
	log      zerolog.Logger
}

// errNoModel fails a job whose model no live worker of the stage serves.
var errNoModel = errors.New("no worker serves model")

// admit is the runner's Admit hook. It returns when the message may run
// here, fails it when it never can, and otherwise waits (the runner keeps
// the message in progress, which costs no delivery) until it fits here or
// another worker of the stage can take it now; only then does it hand the
// message back (stages.ErrRetryLater), so a worker too small for a job
// never burns the job's deliveries while the one that fits is busy.
func (p *policy) admit(ctx context.Context, req worker.AdmitRequest) (func(), error) {
	if p.desc.NeedsEngine() && p.manifest != nil {
		if want := req.Settings.Model; want != "" && want != p.manifest.Model {
			return nil, p.handOver(ctx, req, fmt.Sprintf("serves model %s, the job names %s", p.manifest.Model, want))
		}
		if err := p.manifest.CheckSettings(req.Settings); err != nil {
			return nil, stages.Permanent(err)
		}
	}
	if p.gate == nil || p.desc.Estimate == nil {
		return nil, nil
	}
	m, ok := p.modelOf(req.Settings.Model)
	if !ok || !p.estimate {
		return nil, nil // nothing here to estimate this process's share from
	}
	est := p.desc.Estimate(p.est, m, req.Settings)
	for {
		released := p.gate.Released()
		changed := p.workers.Changed()
		release, err := p.gate.Acquire(est, p.largest())
		if err == nil {
			return release, nil
		}
		if !errors.Is(err, mem.ErrRetryLater) {
			return nil, stages.Permanent(err)
		}
		if w, ok := p.roomElsewhere(req.Settings.Model, est); ok {
			return nil, fmt.Errorf("%w: %v; worker %s has room", stages.ErrRetryLater, err, w)
		}
		p.log.Debug().Err(err).Msg("waiting for room")
		if err := p.wait(ctx, released, changed); err != nil {
			return nil, err
		}
	}
}

// handOver waits until a live worker of the stage that serves the job's
// model has a free slot, then hands the message back for it; with none
// left, the job fails.
func (p *policy) handOver(ctx context.Context, req worker.AdmitRequest, why string) error {
	want := req.Settings.Model
	for {
		changed := p.workers.Changed()
		serving := 0
		for _, w := range p.workers.Stage(p.desc.Name) {
			if w.Worker == p.self || w.Manifest == nil || w.Manifest.Model != want {
				continue
			}
			serving++
			if w.Busy < w.Concurrency {
				return fmt.Errorf("%w: this worker %s; worker %s serves it", stages.ErrRetryLater, why, w.Worker)
			}
		}
		if serving == 0 && p.workers.Warm() {
			return stages.Permanent(fmt.Errorf("%w %s (stage %s)", errNoModel, want, p.desc.Name))
		}
		if err := p.wait(ctx, nil, changed); err != nil {
			return err
		}
	}
}

func (p *policy) wait(ctx context.Context, released, changed <-chan struct{}) error {
	t := time.NewTimer(p.poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-released:
	case <-changed:
	case <-t.C:
	}
	return nil
}

// modelOf is the manifest of the job's model: the local engine's, else
// (a stage without one, like encode) any live worker's that serves it.
func (p *policy) modelOf(model string) (protocol.Manifest, bool) {
	if p.manifest != nil {
		return *p.manifest, true
	}
	for _, st := range protocol.Stages() {
		for _, w := range p.workers.Stage(st) {
			if w.Manifest != nil && (model == "" || w.Manifest.Model == model) {
				return *w.Manifest, true
			}
		}
	}
	return protocol.Manifest{}, false
}

// largest is the largest memory budget among the stage's live workers.
func (p *policy) largest() int64 {
	var n int64
	for _, w := range p.workers.Stage(p.desc.Name) {
		n = max(n, int64(w.MemBudgetBytes))
	}
	return n
}

// roomElsewhere finds another live worker of the stage, serving the job's
// model, with a free slot and the memory for est now.
func (p *policy) roomElsewhere(model string, est mem.Estimate) (string, bool) {
	for _, w := range p.workers.Stage(p.desc.Name) {
		switch {
		case w.Worker == p.self, w.Busy >= w.Concurrency:
		case p.desc.NeedsEngine() && model != "" && (w.Manifest == nil || w.Manifest.Model != model):
		case w.MemBudgetBytes == 0 || est.Peak+int64(w.MemHeldBytes) <= int64(w.MemBudgetBytes):
			return w.Worker, true
		}
	}
	return "", false
}

// describe fills this worker's heartbeat.
func (p *policy) describe(res Resources) func(info *worker.WorkerInfo) {
	return func(info *worker.WorkerInfo) {
		if p.desc.NeedsEngine() && p.manifest != nil {
			m := *p.manifest
			info.Manifest = &m
		}
		if p.gate != nil {
			info.MemBudgetBytes = uint64(p.gate.Budget())
			info.MemHeldBytes = uint64(p.gate.Held())
		}
		if rss, err := mem.ReadRSS(); err == nil {
			info.MemUsedBytes = uint64(rss.Current)
		}
		if res.Describe != nil {
			res.Describe(info)
		}
	}
}

// limitVAEHeap sets the Go memory limit of a process that runs only
// vaedecode slots to what its slots keep live plus a quarter. Without it
// the GC lets the heap grow to twice its live data before collecting, so
// the worker's peak climbs with the number of chunks decoded until that
// steady state (BENCHMARKS.md, "VAE memory"); with it the peak stays at one
// chunk's, whatever the video's length. The limit is soft (the GC works
// harder, nothing is killed), and a GOMEMLIMIT set by the operator wins.
func limitVAEHeap(est mem.Estimator, m protocol.Manifest, slots int, log zerolog.Logger) {
	if envconfig.GoMemLimitSet() {
		return
	}
	limit := est.DecodeChunk(m).MemoryLimitSlots(slots)
	debug.SetMemoryLimit(limit)
	log.Info().Str("limit", mem.FormatSize(limit)).Int("slots", slots).Msg("vaedecode heap limit")
}
