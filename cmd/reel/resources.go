package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reel-video/reel/internal/gpu"
	"github.com/reel-video/reel/internal/mem"
	"github.com/reel-video/reel/stages/pipeline"
	"github.com/reel-video/reel/stages/worker"
	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
)

// resourceFlags are a stage process's device and memory settings
// (internal/gpu placement and telemetry, internal/mem budgets), shared by
// every command that runs stages.
type resourceFlags struct {
	memBudget    string
	gpuMemBudget string
	gpu          int
}

func (f *resourceFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.memBudget, "mem-budget", "", "memory budget, e.g. 8GiB (default: cgroup limit, GOMEMLIMIT, else physical memory)")
	fs.StringVar(&f.gpuMemBudget, "gpu-mem-budget", "", "GPU memory budget on the pinned device, e.g. 40GiB (default: the device's free memory at start-up)")
	fs.IntVar(&f.gpu, "gpu", gpu.AutoGPU, "pin to visible GPU N (honours CUDA_VISIBLE_DEVICES; -1: the first, if any)")
}

// setup detects the budgets and places the process on a device, before any
// engine is loaded (the estimates start from the RSS measured here). The
// policy itself runs in stages/pipeline, for every command alike; close
// releases the device.
func (f *resourceFlags) setup(ctx context.Context, log zerolog.Logger) (res pipeline.Resources, close func(), err error) {
	b, err := f.baseline()
	if err != nil {
		return res, nil, err
	}
	return f.place(ctx, b, log)
}

// baseline is what setup measures before any engine loads.
type baseline struct {
	runtime int64 // the process's RSS
	budget  mem.Budget
}

func (f *resourceFlags) baseline() (baseline, error) {
	rss, err := mem.ReadRSS()
	if err != nil {
		return baseline{}, err
	}
	budget, err := mem.DetectBudget(mem.Sources{Flag: f.memBudget})
	if err != nil {
		return baseline{}, err
	}
	return baseline{rss.Current, budget}, nil
}

// place is setup's second half: the device placement (a GPU probe child)
// and the resources built on it. It may run while engines load, as long as
// b was measured before.
func (f *resourceFlags) place(ctx context.Context, b baseline, log zerolog.Logger) (res pipeline.Resources, close func(), err error) {
	budget := b.budget
	// The probe child loads NVML first, so a faulting driver costs the child
	// and this stage runs on the CPU instead of dying.
	pl, err := gpu.Place(ctx, gpu.Config{Visible: gpu.VisibleFromEnv(), GPU: f.gpu, Probe: selfProbe})
	if err != nil {
		return res, nil, err
	}
	switch {
	case errors.Is(pl.Reason, gpu.ErrDiscovery):
		log.Warn().Msg(pl.Note)
	case pl.Note != "":
		log.Info().Msg(pl.Note)
	}
	// The GPU budget exists only where a device is pinned. The built-in
	// engine computes on the CPU, so it is reported (heartbeats, reel
	// workers) for placement decisions rather than charged per request.
	var gpuBudget mem.Budget
	if d, err := pl.Device(ctx); err == nil {
		if gpuBudget, err = mem.GPUBudget(f.gpuMemBudget, d.Memory.Free, d.Memory.Total); err != nil {
			_ = pl.Close()
			return res, nil, err
		}
		log.Info().Str("gpu_budget", gpuBudget.String()).Msg("gpu memory budget")
	} else if f.gpuMemBudget != "" {
		_ = pl.Close()
		return res, nil, fmt.Errorf("--gpu-mem-budget %s: no GPU is pinned (%s)", f.gpuMemBudget, pl.Label())
	}
	log.Info().Str("budget", budget.String()).Str("device", pl.Label()).Msg("resources")
	res = pipeline.Resources{
		Budget: budget, Runtime: b.runtime, LimitVAEHeap: true, RunnerDevice: runnerDevice(pl),
		Describe: func(info *worker.WorkerInfo) {
			info.Device = pl.Label()
			tctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if t, err := pl.Telemetry(tctx); err == nil && t != nil {
				info.GPUMemBudget, info.GPUMemUsedBytes = uint64(gpuBudget.Bytes), t.SelfUsed
			}
		},
	}
	return res, func() { _ = pl.Close() }, nil
}
