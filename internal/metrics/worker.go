package metrics

import "github.com/reel-video/reel/stages/worker"

// Describe wraps a worker heartbeat hook: after next (may be nil) fills
// the heartbeat, its memory and GPU memory become gauges.
func (m *Metrics) Describe(next func(*worker.WorkerInfo)) func(*worker.WorkerInfo) {
	return func(info *worker.WorkerInfo) {
		if next != nil {
			next(info)
		}
		used := info.MemUsedBytes
		if used == 0 {
			used = info.HeapBytes
		}
		m.memUsed.WithLabelValues(info.Stage, info.Worker).Set(float64(used))
		if info.MemBudgetBytes > 0 {
			m.memBudget.WithLabelValues(info.Stage, info.Worker).Set(float64(info.MemBudgetBytes))
		}
		if info.Device != "" && info.GPUMemBudget > 0 {
			m.gpuBudget.WithLabelValues(info.Stage, info.Worker, info.Device).Set(float64(info.GPUMemBudget))
			m.gpuUsed.WithLabelValues(info.Stage, info.Worker, info.Device).Set(float64(info.GPUMemUsedBytes))
		}
	}
}
