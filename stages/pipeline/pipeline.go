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

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
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
	// requested, the Go engine is loaded with EngineOptions.
	Engine        Engine
	EngineOptions model.Options
	Output        stages.OutputDefaults
	// DeadLetters also runs the dead-letter handler in this process.
	DeadLetters bool
	// Runner hooks (internal/mem, internal/gpu).
	Admit      func(ctx context.Context, req worker.AdmitRequest) (release func(), err error)
	Describe   func(info *worker.WorkerInfo)
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
		if _, ok := names[d.Name]; ok && d.NeedsEngine {
			return true
		}
	}
	return false
}

// Run builds a runner per requested stage and serves until ctx ends.
func Run(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	store := orchestrator.NewStore(o.Bus, o.Log)
	if o.Engine == nil && NeedsEngine(o.Stages) {
		e, err := model.Load(o.EngineOptions)
		if err != nil {
			return fmt.Errorf("load model: %w", err)
		}
		o.Engine = GoEngine(e)
	}
	var runners []*worker.Runner
	for _, d := range registry.All() {
		n, ok := o.Stages[d.Name]
		if !ok {
			continue
		}
		h, err := Handler(d, o)
		if err != nil {
			return err
		}
		r, err := worker.New(worker.Config{
			Stage: d.Name, Bus: o.Bus, Tracker: store, Handler: h, Concurrency: d.Slots(n),
			Admit: o.Admit, Describe: o.Describe, Log: o.Log,
			Middleware: append([]stages.Middleware{stages.Retry{}.Middleware()}, o.Middleware...),
		})
		if err != nil {
			return err
		}
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
	}
	wg.Wait()
	return first
}

// Handler builds one stage's handler from its descriptor.
func Handler(d stages.Descriptor, o Options) (stages.Handler, error) {
	deps := stages.Deps{Output: o.Output}
	if o.Engine != nil {
		deps.Engine, deps.Manifest = o.Engine, o.Engine.Manifest()
	}
	if d.NeedsEngine && o.Engine == nil {
		return nil, fmt.Errorf("stage %s needs the model", d.Name)
	}
	h, err := d.New(deps)
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", d.Name, err)
	}
	return h, nil
}
