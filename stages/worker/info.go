package worker

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/mem"
)

// WorkerInfo is a worker's heartbeat in KV reel-workers (key
// <stage>.<worker>), shown by `reel workers`.
type WorkerInfo struct {
	Worker      string    `json:"worker"`
	Stage       string    `json:"stage"`
	Host        string    `json:"host"`
	PID         int       `json:"pid"`
	Concurrency int       `json:"concurrency"`
	Busy        int       `json:"busy"`
	Jobs        []string  `json:"jobs,omitempty"`
	Done        int       `json:"done"`
	Failed      int       `json:"failed"`
	Started     time.Time `json:"started"`
	Seen        time.Time `json:"seen"`
	GoRoutines  int       `json:"goroutines"`
	HeapBytes   uint64    `json:"heap_bytes"`

	// Filled by Config.Describe (the model, internal/gpu, internal/mem).
	//
	// Manifest is the model the worker serves (nil for a stage that
	// computes with none): admission routes a job naming another model to
	// a worker whose manifest names it.
	Manifest       *protocol.Manifest `json:"manifest,omitempty"`
	Device         string             `json:"device,omitempty"`
	MemBudgetBytes uint64             `json:"mem_budget_bytes,omitempty"`
	MemUsedBytes   uint64             `json:"mem_used_bytes,omitempty"`
	// MemHeldBytes is what the requests admitted in the worker's process
	// hold beyond its resident engine (the memory gate's count).
	MemHeldBytes    uint64         `json:"mem_held_bytes,omitempty"`
	GPUMemBudget    uint64         `json:"gpu_mem_budget_bytes,omitempty"`
	GPUMemUsedBytes uint64         `json:"gpu_mem_used_bytes,omitempty"`
	Extra           map[string]any `json:"extra,omitempty"`

	// Engine is what computes the stage's model ("go", "torch",
	// "exec:COMMAND"); Runner, when that is a runner process, its process
	// and memory. Filled by stages/pipeline.
	Engine string      `json:"engine,omitempty"`
	Runner *RunnerInfo `json:"runner,omitempty"`
}

// RunnerInfo is an engine runner process as the worker's heartbeat saw it
// (its health answer): the runner's own memory, which the stage's RSS does
// not include.
type RunnerInfo struct {
	PID               int    `json:"pid"` // 0 while it is being restarted
	Device            string `json:"device,omitempty"`
	RSSBytes          int64  `json:"rss_bytes"`
	GPUAllocatedBytes int64  `json:"gpu_allocated_bytes,omitempty"`
	GPUReservedBytes  int64  `json:"gpu_reserved_bytes,omitempty"`
	GPUPeakBytes      int64  `json:"gpu_peak_bytes,omitempty"`
}

type workerStats struct {
	busy, done, failed int
	jobs               []string
}

func (r *Runner) workerKey() string { return r.cfg.Stage + "." + r.cfg.Worker }

func (r *Runner) heartbeatWorker(ctx context.Context) {
	started := time.Now().UTC()
	host, _ := os.Hostname()
	every := r.cfg.Bus.Cfg.WorkerTTL / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		r.mu.Lock()
		info := WorkerInfo{
			Worker: r.cfg.Worker, Stage: r.cfg.Stage, Host: host, PID: os.Getpid(),
			Concurrency: r.cfg.Concurrency, Busy: r.stats.busy, Jobs: slices.Clone(r.stats.jobs),
			Done: r.stats.done, Failed: r.stats.failed, Started: started, Seen: time.Now().UTC(),
			GoRoutines: runtime.NumGoroutine(),
		}
		r.mu.Unlock()
		info.HeapBytes = mem.HeapBytes()
		if r.cfg.Describe != nil {
			r.cfg.Describe(&info)
		}
		if data, err := json.Marshal(info); err == nil {
			if _, err := r.cfg.Bus.Workers.Put(ctx, r.workerKey(), data); err != nil && ctx.Err() == nil {
				r.log.Debug().Err(err).Msg("worker heartbeat")
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kick:
		}
	}
}

func (r *Runner) deleteWorker() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = r.cfg.Bus.Workers.Delete(ctx, r.workerKey())
}

// ListWorkers returns the live worker heartbeats.
func ListWorkers(ctx context.Context, b *bus.Bus) ([]WorkerInfo, error) {
	lister, err := b.Workers.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []WorkerInfo
	for k := range lister.Keys() {
		e, err := b.Workers.Get(ctx, k)
		if err != nil {
			continue
		}
		var w WorkerInfo
		if json.Unmarshal(e.Value(), &w) == nil {
			out = append(out, w)
		}
	}
	_ = lister.Stop()
	slices.SortFunc(out, func(a, b WorkerInfo) int {
		if a.Stage != b.Stage {
			return slices.Index(protocol.Stages(), a.Stage) - slices.Index(protocol.Stages(), b.Stage)
		}
		if a.Worker < b.Worker {
			return -1
		}
		return 1
	})
	return out, nil
}
