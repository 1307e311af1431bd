package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/runner"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/registry"
	"github.com/reel-video/reel/stages/runnerengine"
	"github.com/reel-video/reel/stages/worker"
	"github.com/rs/zerolog"
)

// EngineConfig says which engine computes each model stage of a process
// (--engine) and how runners are started.
type EngineConfig struct {
	// Specs maps a stage to its engine (runner.ParseSpecs); a stage not
	// named runs the Go engine.
	Specs map[string]runner.Spec
	// Weights are the checkpoints (paths, "" = built in) and the frame size:
	// the Go engine loads them, runners are handed the same files, and a
	// runner must serve the frame size asked for.
	Weights model.Options
	// Go, if set, is the Go engine the process has loaded already (with
	// Weights); the Go stages use it instead of loading another.
	Go *model.Engine
	// Python and Device start the bundled PyTorch runner (runner.TorchOptions).
	Python, Device string
	// CacheDir receives the built-in weights and the runner's sources for
	// runners; "" = runner.DefaultCacheDir.
	CacheDir string
	// StartTimeout and PingTimeout are runner.Config's HelloTimeout and
	// PingTimeout (0: the runner package's defaults).
	StartTimeout, PingTimeout time.Duration
	Log                       zerolog.Logger
}

// NeedsDevice reports whether an engine of c starts on Device left to the
// caller: a torch runner with no Device given. The Go engine computes on the
// CPU and a runner of exec:COMMAND picks its own device, so a process whose
// engines are those can load them before it knows where it is placed.
func (c EngineConfig) NeedsDevice() bool {
	if c.Device != "" {
		return false
	}
	for _, s := range c.Specs {
		if s.Kind == runner.KindTorch {
			return true
		}
	}
	return false
}

// Engines are the engines one process computes with: one per distinct
// engine among its stages (a process running textenc and denoise on torch
// starts one runner for both). Close stops the runners.
type Engines struct {
	byStage map[string]Engine
	names   map[string]string // stage -> engine name
	runners []*runnerengine.Engine
}

// StartEngines starts the engines the named stages need (stages that need
// none are skipped); each loads only the models of the stages it serves
// (StageSpec.Model). A runner that fails to start, serves a manifest that
// does not validate, or another geometry than the process's other engines
// or the frame size asked for is an error naming the stage and the engine;
// the runners already started are stopped.
func StartEngines(ctx context.Context, cfg EngineConfig, names []string) (_ *Engines, err error) {
	es := &Engines{byStage: map[string]Engine{}, names: map[string]string{}}
	defer func() {
		if err != nil {
			_ = es.Close()
		}
	}()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	// Each distinct engine serves some of the stages, and loads the models
	// of those only: first which stages each serves, then the engines.
	type served struct {
		stage, name string
		spec        runner.Spec
	}
	var stagesOn []served
	models := map[string][]protocol.Model{}
	for _, d := range registry.All() {
		if !want[d.Name] || !d.NeedsEngine() {
			continue
		}
		spec := cfg.Specs[d.Name]
		if spec.Kind == "" {
			spec.Kind = runner.KindGo
		}
		name := SpecName(spec)
		stagesOn = append(stagesOn, served{d.Name, name, spec})
		if !slices.Contains(models[name], d.Model) {
			models[name] = append(models[name], d.Model)
		}
	}
	started := map[string]Engine{}
	var order []string
	for _, s := range stagesOn {
		e, ok := started[s.name]
		if !ok {
			if e, err = es.start(ctx, cfg, s.spec, s.name, models[s.name]); err != nil {
				return nil, fmt.Errorf("stage %s: engine %s: %w", s.stage, s.name, err)
			}
			started[s.name] = e
			order = append(order, s.name)
		}
		es.byStage[s.stage], es.names[s.stage] = e, s.name
	}
	if err := checkGeometry(cfg.Weights, started, order); err != nil {
		return nil, err
	}
	return es, nil
}

// SpecName names an engine as --engine does: "go", "torch", "exec:COMMAND".
func SpecName(s runner.Spec) string {
	if s.Kind == runner.KindExec {
		return runner.KindExec + ":" + strings.Join(s.Command, " ")
	}
	return s.Kind
}

// start starts the engine of spec, named name, for the given models.
func (es *Engines) start(ctx context.Context, cfg EngineConfig, spec runner.Spec, name string, models []protocol.Model) (Engine, error) {
	if spec.Kind == runner.KindGo {
		if cfg.Go != nil {
			return GoEngine(cfg.Go), nil
		}
		opts := cfg.Weights
		opts.Models = models
		e, err := model.Load(opts)
		if err != nil {
			return nil, fmt.Errorf("load model: %w", err)
		}
		return GoEngine(e), nil
	}
	cmd := spec.Command
	if spec.Kind == runner.KindTorch {
		var err error
		if cmd, err = runner.TorchCommand(runner.TorchOptions{Python: cfg.Python, Device: cfg.Device, CacheDir: cfg.CacheDir}); err != nil {
			return nil, err
		}
	}
	w, err := runnerWeights(cfg)
	if err != nil {
		return nil, err
	}
	rc := runner.Config{Command: cmd, Weights: w, Models: models, HelloTimeout: cfg.StartTimeout, PingTimeout: cfg.PingTimeout,
		Log: cfg.Log.With().Str("engine", name).Logger()}
	if rc.PingTimeout > 0 && rc.PingTimeout < runner.DefaultPingInterval {
		rc.PingInterval = rc.PingTimeout // a hang is noticed within twice the timeout
	}
	r, err := runner.Start(ctx, rc)
	if err != nil {
		return nil, err
	}
	a := runnerengine.New(r, name)
	es.runners = append(es.runners, a)
	if err := r.Manifest().Validate(); err != nil {
		return nil, fmt.Errorf("the runner's manifest: %w", err)
	}
	h := r.Hello()
	cfg.Log.Info().Str("engine", name).Int("pid", r.PID()).Str("device", h.Capabilities.Device).
		Str("model", h.Manifest.Model).Bool("fp8", h.Capabilities.FP8).Msg("engine runner started")
	return a, nil
}

// runnerWeights are the checkpoint paths for a runner's hello: the files
// the flags name, else the built-in ones written to the cache.
func runnerWeights(cfg EngineConfig) (map[string]string, error) {
	w, err := runner.WriteEmbeddedWeights(cfg.CacheDir)
	if err != nil {
		return nil, err
	}
	for role, p := range map[protocol.Model]string{protocol.ModelDiT: cfg.Weights.DiTPath, protocol.ModelText: cfg.Weights.TextPath, protocol.ModelVAE: cfg.Weights.VAEPath} {
		if p != "" {
			w[string(role)] = p
		}
	}
	return w, nil
}

// checkGeometry: every engine of the process computes tensors of the same
// shapes (they hand them to each other through the bus), and a runner
// serves the frame size and fps asked for (the Go engine takes them as
// options; a runner's are its own).
func checkGeometry(w model.Options, engines map[string]Engine, order []string) error {
	if len(order) == 0 {
		return nil
	}
	first := engines[order[0]].Manifest()
	for _, name := range order[1:] {
		if d := runnerengine.GeometryDiff(first, engines[name].Manifest()); d != "" {
			return fmt.Errorf("engines %s and %s serve different geometry (%s): the stages' tensors would not fit each other", order[0], name, d)
		}
	}
	for _, name := range order {
		m := engines[name].Manifest()
		if _, isRunner := engines[name].(*runnerengine.Engine); !isRunner {
			continue
		}
		if (w.Width != 0 && w.Width != m.Width) || (w.Height != 0 && w.Height != m.Height) || (w.FPS != 0 && w.FPS != m.FPS) {
			return fmt.Errorf("engine %s serves %dx%d frames at %d fps (its manifest), not the %dx%d at %d fps asked for (0: any)",
				name, m.Width, m.Height, m.FPS, w.Width, w.Height, w.FPS)
		}
	}
	return nil
}

// For is the engine of a stage, nil if it has none.
func (es *Engines) For(stage string) Engine {
	if es == nil {
		return nil
	}
	return es.byStage[stage]
}

// Model is the manifest of the model the process's engines serve (zero
// without engines): they all serve one geometry (StartEngines checks it),
// so a stage without an engine of its own takes its expected frame size
// from it.
func (es *Engines) Model() protocol.Manifest {
	if es != nil {
		for _, d := range registry.All() {
			if e := es.byStage[d.Name]; e != nil {
				return e.Manifest()
			}
		}
	}
	return protocol.Manifest{}
}

// Manifest is the manifest of the stage's engine (zero if it has none).
func (es *Engines) Manifest(stage string) protocol.Manifest {
	if e := es.For(stage); e != nil {
		return e.Manifest()
	}
	return protocol.Manifest{}
}

// describeTimeout bounds the runner's health call of one heartbeat.
const describeTimeout = 2 * time.Second

// Describe fills the stage's engine, and its runner's process and memory,
// into a worker heartbeat (worker.Config.Describe).
func (es *Engines) Describe(info *worker.WorkerInfo) {
	if es == nil {
		return
	}
	info.Engine = es.names[info.Stage]
	a, ok := es.byStage[info.Stage].(*runnerengine.Engine)
	if !ok {
		return
	}
	r := a.Runner()
	ri := &worker.RunnerInfo{PID: r.PID(), Device: r.Hello().Capabilities.Device}
	info.Runner = ri
	if ri.PID == 0 {
		// Restarting: a health call would wait for (and could cut short)
		// the start in progress.
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), describeTimeout)
	defer cancel()
	if m, err := r.Health(ctx); err == nil {
		ri.RSSBytes, ri.GPUAllocatedBytes, ri.GPUReservedBytes, ri.GPUPeakBytes = m.RSSBytes, m.GPUAllocatedBytes, m.GPUReservedBytes, m.GPUPeakBytes
	}
}

// Close stops every runner (the Go engine needs no stopping).
func (es *Engines) Close() error {
	if es == nil {
		return nil
	}
	var errs []error
	for _, r := range es.runners {
		errs = append(errs, r.Runner().Close())
	}
	es.runners = nil
	return errors.Join(errs...)
}

// jobContext tags the handler's context with the delivery's job, so that a
// runner's requests and the log lines it prints meanwhile carry it.
func jobContext(next stages.Handler) stages.Handler {
	return stages.HandlerFunc(func(ctx context.Context, d stages.Delivery) error {
		return next.Handle(runner.WithJob(ctx, d.Envelope().Job), d)
	})
}

// describeWith runs the caller's Describe, then the engines'.
func describeWith(describe func(*worker.WorkerInfo), es *Engines) func(*worker.WorkerInfo) {
	if es == nil {
		return describe
	}
	return func(info *worker.WorkerInfo) {
		if describe != nil {
			describe(info)
		}
		es.Describe(info)
	}
}

// defaultEngineModels are the models of the requested stages that Engines
// does not serve: what the default Go engine loads (none: no engine).
func (o Options) defaultEngineModels() []protocol.Model {
	var ms []protocol.Model
	for _, d := range registry.All() {
		if _, ok := o.Stages[d.Name]; ok && d.NeedsEngine() && o.Engines.For(d.Name) == nil {
			ms = append(ms, d.Model)
		}
	}
	return ms
}

// engineFor is the engine of a stage: Engines' if they name it, else Engine.
func (o Options) engineFor(stage string) Engine {
	if e := o.Engines.For(stage); e != nil {
		return e
	}
	return o.Engine
}

// admissionManifest is what a stage admits jobs against. A runner's frame,
// step and guidance limits are its sampler's (a runner without guided
// sampling serves one window): a stage that does not sample on it
// (textenc, vaedecode) takes them from the protocol, so the Go denoiser's
// long videos can be decoded by such a runner's vaedecode. The model id
// still counts.
func admissionManifest(stage string, e Engine) protocol.Manifest {
	m := e.Manifest()
	if _, isRunner := e.(*runnerengine.Engine); isRunner && stage != protocol.StageDenoise {
		m.MaxFrames, m.MaxSteps, m.MaxGuidance = protocol.MaxFrames, protocol.MaxSteps, protocol.MaxGuidance
	}
	return m
}
