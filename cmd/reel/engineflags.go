package main

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/reel-video/reel/internal/envconfig"
	"github.com/reel-video/reel/internal/gpu"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/runner"
	"github.com/reel-video/reel/stages/pipeline"
	"github.com/reel-video/reel/stages/registry"
	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
)

// engineFlags choose the engine of each model stage (generate, server,
// stage): the built-in Go engine, the bundled PyTorch runner, or any runner
// of docs/runner.md.
type engineFlags struct {
	engine       string
	python       string
	device       string
	startTimeout time.Duration
	pingTimeout  time.Duration
}

func (f *engineFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.engine, "engine", runner.KindGo, `model engine: go (built in), torch (the bundled PyTorch runner) or exec:COMMAND (a runner of docs/runner.md); per stage as "vaedecode=torch,denoise=go", or a default first: "torch,denoise=go"`)
	fs.StringVar(&f.python, "python", envconfig.PythonInterpreter(), "Python interpreter of --engine torch (env REEL_PYTHON)")
	fs.StringVar(&f.device, "device", "", "device of --engine torch: cpu or cuda:N (default: the pinned GPU if any, else cpu)")
	fs.DurationVar(&f.startTimeout, "runner-start-timeout", runner.DefaultHelloTimeout, "how long a runner may take to start and load its model")
	fs.DurationVar(&f.pingTimeout, "runner-ping-timeout", runner.DefaultPingTimeout, "a runner that does not answer a health ping this long is killed as hung (and restarted)")
}

// devicePattern is what --device accepts.
var devicePattern = regexp.MustCompile(`^(cpu|cuda:[0-9]+)$`)

// config builds the engines' configuration for the given stages. device is
// where a torch runner computes without --device (the pinned GPU, see
// pipeline.Resources.RunnerDevice; "" = cpu).
func (f *engineFlags) config(stageNames []string, weights model.Options, device string, log zerolog.Logger) (pipeline.EngineConfig, error) {
	var engineStages []string
	for _, d := range registry.All() {
		if d.NeedsEngine() && slices.Contains(stageNames, d.Name) {
			engineStages = append(engineStages, d.Name)
		}
	}
	if len(engineStages) == 0 && f.engine != runner.KindGo {
		return pipeline.EngineConfig{}, fmt.Errorf("--engine %s: stage %v computes with no model", f.engine, stageNames)
	}
	specs, err := runner.ParseSpecs(f.engine, engineStages)
	if err != nil {
		return pipeline.EngineConfig{}, fmt.Errorf("--engine: %w", err)
	}
	if f.device != "" && !devicePattern.MatchString(f.device) {
		return pipeline.EngineConfig{}, fmt.Errorf("--device %q: want cpu or cuda:N", f.device)
	}
	if f.device != "" {
		device = f.device
	}
	return pipeline.EngineConfig{Specs: specs, Weights: weights, Python: f.python, Device: device,
		StartTimeout: f.startTimeout, PingTimeout: f.pingTimeout, Log: log}, nil
}

// startWithResources sets up the process's resources (resourceFlags.setup)
// and starts the engines of stageNames. The device placement (a GPU probe
// child, 10-17 ms) and the engines' load are independent unless an engine
// starts on the device the placement pins (pipeline.EngineConfig.
// NeedsDevice), so they run at once: start-up is most of a short job's fixed
// cost (reel generate). The baseline RSS is measured before either. release
// closes the engines, then the device.
func startWithResources(ctx context.Context, rf *resourceFlags, ef *engineFlags, stageNames []string, weights model.Options, log zerolog.Logger) (res pipeline.Resources, engs *pipeline.Engines, release func(), err error) {
	b, err := rf.baseline()
	if err != nil {
		return res, nil, nil, err
	}
	cfg, err := ef.config(stageNames, weights, "", log)
	if err != nil {
		return res, nil, nil, err
	}
	type placed struct {
		res   pipeline.Resources
		close func()
		err   error
	}
	pc := make(chan placed, 1)
	go func() {
		res, closeRes, err := rf.place(ctx, b, log)
		pc <- placed{res, closeRes, err}
	}()
	var p placed
	waited := cfg.NeedsDevice()
	if waited {
		if p = <-pc; p.err != nil {
			return res, nil, nil, p.err
		}
		cfg.Device = p.res.RunnerDevice
	}
	engs, err = pipeline.StartEngines(ctx, cfg, stageNames)
	if !waited {
		p = <-pc
	}
	if p.err != nil || err != nil {
		if err == nil {
			_ = engs.Close()
		}
		if p.err == nil {
			p.close()
			return res, nil, nil, err
		}
		return res, nil, nil, p.err // the placement's, as when the two ran in turn
	}
	return p.res, engs, func() { _ = engs.Close(); p.close() }, nil
}

// runnerDevice is "cuda:N" for the GPU the placement pins (N its index
// among the visible devices, as CUDA numbers them), else "cpu".
func runnerDevice(pl *gpu.Placement) string {
	if !pl.OnGPU() {
		return "cpu"
	}
	return fmt.Sprintf("cuda:%d", pl.Index())
}

// startEngines starts the engines of the given stages (see config).
func (f *engineFlags) startEngines(ctx context.Context, stageNames []string, weights model.Options, device string, log zerolog.Logger) (*pipeline.Engines, error) {
	cfg, err := f.config(stageNames, weights, device, log)
	if err != nil {
		return nil, err
	}
	return pipeline.StartEngines(ctx, cfg, stageNames)
}
