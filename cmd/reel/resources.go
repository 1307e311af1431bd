package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/envconfig"
	"github.com/reel-video/reel/internal/gpu"
	"github.com/reel-video/reel/internal/mem"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/worker"
	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
)

// resourceFlags are a stage process's device and memory settings
// (internal/gpu placement and telemetry, internal/mem budgets and admission).
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

// resources wires the stage runner's hooks.
type resources struct {
	admit    func(ctx context.Context, req worker.AdmitRequest) (func(), error)
	describe func(info *worker.WorkerInfo)
	close    func()
}

func (f *resourceFlags) setup(ctx context.Context, b *bus.Bus, stage string, slots int, fp8 bool, log zerolog.Logger) (*resources, error) {
	budget, err := mem.DetectBudget(mem.Sources{Flag: f.memBudget})
	if err != nil {
		return nil, err
	}
	// The probe child loads NVML first, so a faulting driver costs the child
	// and this stage runs on the CPU instead of dying.
	pl, err := gpu.Place(ctx, gpu.Config{Visible: gpu.VisibleFromEnv(), GPU: f.gpu, Probe: selfProbe})
	if err != nil {
		return nil, err
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
			return nil, err
		}
		log.Info().Str("gpu_budget", gpuBudget.String()).Msg("gpu memory budget")
	} else if f.gpuMemBudget != "" {
		_ = pl.Close()
		return nil, fmt.Errorf("--gpu-mem-budget %s: no GPU is pinned (%s)", f.gpuMemBudget, pl.Label())
	}
	est := mem.Default()
	if rss, err := mem.ReadRSS(); err == nil {
		est = est.WithRuntime(rss.Current)
	}
	if stage == protocol.StageVAEDecode {
		limitVAEHeap(est, slots, log)
	}
	// largest is the largest budget among this stage's live workers.
	largest := func() int64 {
		lctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		ws, err := worker.ListWorkers(lctx, b)
		if err != nil {
			return 0
		}
		var m int64
		for _, w := range ws {
			if w.Stage == stage && int64(w.MemBudgetBytes) > m {
				m = int64(w.MemBudgetBytes)
			}
		}
		return m
	}
	gate := mem.NewGate(budget.Bytes, largest)
	log.Info().Str("budget", budget.String()).Str("device", pl.Label()).Msg("resources")
	r := &resources{close: func() { _ = pl.Close() }}
	r.admit = func(_ context.Context, req worker.AdmitRequest) (func(), error) {
		var e mem.Estimate
		switch req.Stage {
		case protocol.StageTextEnc:
			e = est.Text()
		case protocol.StageDenoise:
			e = est.Denoise(req.Settings.Frames, req.Settings.Steps, fp8)
		case protocol.StageVAEDecode:
			e = est.DecodeChunk()
		case protocol.StageEncode:
			e = est.Encode(req.Settings.Frames)
		default:
			return nil, nil
		}
		release, err := gate.Acquire(e)
		if errors.Is(err, mem.ErrRetryLater) {
			return nil, fmt.Errorf("%w: %v", stages.ErrRetryLater, err)
		}
		return release, err
	}
	r.describe = func(info *worker.WorkerInfo) {
		info.Device = pl.Label()
		info.MemBudgetBytes = uint64(budget.Bytes)
		if rss, err := mem.ReadRSS(); err == nil {
			info.MemUsedBytes = uint64(rss.Current)
		}
		tctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if t, err := pl.Telemetry(tctx); err == nil && t != nil {
			info.GPUMemBudget, info.GPUMemUsedBytes = uint64(gpuBudget.Bytes), t.SelfUsed
		}
	}
	return r, nil
}

// limitVAEHeap sets the Go memory limit of a standalone vaedecode process to
// what its slots keep live plus a quarter. Without it the GC lets the heap
// grow to twice its live data before collecting, so the worker's peak climbs
// with the number of chunks decoded until that steady state (BENCHMARKS.md,
// "VAE memory"); with it the peak stays at one chunk's, whatever the video's
// length. The limit is soft (the GC works harder, nothing is killed), and a
// GOMEMLIMIT set by the operator wins.
func limitVAEHeap(est mem.Estimator, slots int, log zerolog.Logger) {
	if envconfig.GoMemLimitSet() {
		return
	}
	e := est.DecodeChunk()
	limit := e.MemoryLimit()
	if slots > 1 {
		perSlot := e.Live - est.Arch.Weights(true)
		limit += int64(slots-1) * (perSlot + perSlot/4)
	}
	debug.SetMemoryLimit(limit)
	log.Info().Str("limit", mem.FormatSize(limit)).Int("slots", slots).Msg("vaedecode heap limit")
}
