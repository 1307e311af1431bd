// Package pipeline wires stage handlers (from their descriptors) to an
// engine and the JetStream stage runner. `reel stage X` (one stage, its own
// process), `reel server` and `reel generate` (all stages in one process)
// all start stages through Run, so in-process and distributed runs share one
// code path.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/mem"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/registry"
	"github.com/reel-video/reel/stages/worker"
	"github.com/rs/zerolog"
)

// Engine is what model stages compute with: the built-in Go engine (see
// GoEngine) or a runner process. Each stage asserts the role it needs
// (textenc.Encoder, denoise.Sampler, vaedecode.Decoder).
type Engine interface {
	Manifest() protocol.Manifest
}

// Options says which stages to run and how.
type Options struct {
	Bus *bus.Bus // required
	// Stages maps stage name to worker slots (concurrency) in this process.
	Stages map[string]int
	// Engine serves the model stages. When nil and a model stage is
	// requested, the Go engine is loaded with EngineOptions, with the
	// models of the requested stages only.
	Engine        Engine
	EngineOptions model.Options
	// Engines, when set, serve the stages they name instead (StartEngines:
	// --engine per stage); the caller closes them.
	Engines *Engines
	Output  stages.OutputDefaults
	// DeadLetters also runs the dead-letter handler and the job-record
	// projector (orchestrator.Projector) in this process.
	DeadLetters bool
	// Resources is the process's resource policy (memory budget,
	// admission, device details in heartbeats).
	Resources  Resources
	Middleware []stages.Middleware
	// Started, if set, is called with the runners once they are built.
	Started func([]*worker.Runner)
	Log     zerolog.Logger
}

// Validate checks the options.
func (o Options) Validate() error {
	if o.Bus == nil {
		return errors.New("pipeline: bus is required")
	}
	if len(o.Stages) == 0 && !o.DeadLetters {
		return errors.New("pipeline: no stage to run")
	}
	for s, n := range o.Stages {
		if _, err := registry.Lookup(s); err != nil {
			return err
		}
		if n < 1 {
			return fmt.Errorf("pipeline: stage %s: concurrency %d < 1", s, n)
		}
	}
	return nil
}

// NeedsEngine reports whether any of the named stages computes with a model.
func NeedsEngine(names map[string]int) bool {
	for _, d := range registry.All() {
		if _, ok := names[d.Name]; ok && d.NeedsEngine() {
			return true
		}
	}
	return false
}

// Run builds a runner per requested stage and serves until ctx ends, which
// is a clean stop (nil) whenever it comes, starting up included.
func Run(ctx context.Context, o Options) error {
	return stopped(ctx, run(ctx, o))
}

// stopped is err, or nil when err is only ctx ending: a part of Run that
// was setting up (a watch, a consumer) when ctx ended returns ctx's error,
// and that is the stop Run serves until, not a failure.
func stopped(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return err
}

func run(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	store := orchestrator.NewStore(o.Bus, o.Log)
	if ms := o.defaultEngineModels(); o.Engine == nil && len(ms) > 0 {
		opts := o.EngineOptions
		opts.Models = ms
		e, err := model.Load(opts)
		if err != nil {
			return fmt.Errorf("load model: %w", err)
		}
		o.Engine = GoEngine(e)
	}
	workers, err := worker.WatchWorkers(ctx, o.Bus.Workers, o.Bus.Cfg.WorkerTTL)
	if err != nil {
		return err
	}
	pols := o.policies(workers)
	var runners []*worker.Runner
	for _, p := range pols {
		h, err := Handler(p.desc, o)
		if err != nil {
			return err
		}
		r, err := worker.New(worker.Config{
			Stage: p.desc.Name, Bus: o.Bus, Tracker: store, Handler: h, Concurrency: p.desc.Slots(o.Stages[p.desc.Name]),
			Admit: p.admit, Describe: describeWith(p.describe(o.Resources), o.Engines), Log: o.Log,
			Middleware: append([]stages.Middleware{stages.Retry{}.Middleware(), jobContext}, o.Middleware...),
		})
		if err != nil {
			return err
		}
		p.self = r.Worker()
		runners = append(runners, r)
	}
	if o.Started != nil {
		o.Started(runners)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil && first == nil {
			first = err
			cancel(err)
		}
	}
	for _, r := range runners {
		wg.Go(func() { fail(r.Run(ctx)) })
	}
	if o.DeadLetters {
		wg.Go(func() { fail(orchestrator.DeadLetters{Store: store}.Run(ctx)) })
		wg.Go(func() { fail(orchestrator.Projector{Store: store}.Run(ctx)) })
	}
	wg.Wait()
	return first
}

// policies builds the admission policy of each requested stage, in
// pipeline order, around one memory gate for the process.
func (o Options) policies(workers *worker.Workers) []*policy {
	res := o.Resources
	if res.Poll <= 0 {
		res.Poll = time.Second
	}
	var gate *mem.Gate
	if res.Budget.Bytes > 0 {
		gate = mem.NewGate(res.Budget.Bytes)
	}
	var out []*policy
	for _, d := range registry.All() {
		n, ok := o.Stages[d.Name]
		if !ok {
			continue
		}
		// Each stage's engine: a runner keeps its model's memory in its
		// own process, so there is no arch to estimate from here.
		var arch mem.Arch
		var manifest *protocol.Manifest
		if e := o.engineFor(d.Name); e != nil {
			m := admissionManifest(d.Name, e)
			manifest = &m
			if a, ok := e.(MemArch); ok {
				arch = a.MemArch()
			}
		}
		est := mem.Default(arch)
		if res.Runtime > 0 {
			est = est.WithRuntime(res.Runtime)
		}
		p := &policy{desc: d, est: est, estimate: !d.NeedsEngine() || arch.Valid(), gate: gate, workers: workers,
			poll: res.Poll, log: o.Log.With().Str("stage", d.Name).Logger()}
		if d.NeedsEngine() {
			p.manifest = manifest
		}
		out = append(out, p)
		if res.LimitVAEHeap && len(o.Stages) == 1 && d.Name == protocol.StageVAEDecode && manifest != nil && arch.Valid() {
			limitVAEHeap(est, *manifest, n, o.Log)
		}
	}
	return out
}

// Handler builds one stage's handler from its descriptor.
func Handler(d stages.Descriptor, o Options) (stages.Handler, error) {
	deps := stages.Deps{Output: o.Output}
	switch eng := o.engineFor(d.Name); {
	case eng != nil:
		deps.Engine, deps.Manifest = eng, eng.Manifest()
	case d.NeedsEngine():
		return nil, fmt.Errorf("stage %s needs the model", d.Name)
	default:
		// A stage without an engine (encode) is told the model this
		// process serves all the same, so that it can prepare for its
		// frame size before the first job (encode's spare ffmpeg).
		deps.Manifest = o.Engines.Model()
	}
	h, err := d.New(deps)
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", d.Name, err)
	}
	return h, nil
}
