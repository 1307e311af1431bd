package runner

import "github.com/reel-video/reel/bus/protocol"

// Capabilities are what the runner says about its device and kernels.
type Capabilities struct {
	Device     string   `msgpack:"device"`      // "cpu", "cuda:0"
	DeviceName string   `msgpack:"device_name"` // e.g. the GPU's name
	FP8        bool     `msgpack:"fp8"`         // true FP8 GEMMs in use
	FP8Detail  string   `msgpack:"fp8_detail"`  // why (not)
	DType      string   `msgpack:"dtype"`       // compute dtype
	Runtime    string   `msgpack:"torch"`       // the runtime's version
	Attention  string   `msgpack:"attention"`
	Ops        []string `msgpack:"ops"`
	// SampleGuide: sample takes a guide (known frames, an init), so the
	// stage can sample long videos as windows, extensions and remixes on it.
	SampleGuide bool `msgpack:"sample_guide"`
}

// Memory is the runner's memory use (health and hello answers); GPU fields
// are zero on a CPU runner.
type Memory struct {
	RSSBytes          int64 `msgpack:"rss_bytes"`
	GPUAllocatedBytes int64 `msgpack:"gpu_allocated_bytes"`
	GPUReservedBytes  int64 `msgpack:"gpu_reserved_bytes"`
	GPUPeakBytes      int64 `msgpack:"gpu_peak_bytes"`
	GPUFreeBytes      int64 `msgpack:"gpu_free_bytes"`
	GPUTotalBytes     int64 `msgpack:"gpu_total_bytes"`
}

// Hello is the runner's answer to hello.
type Hello struct {
	Protocol     int               `msgpack:"protocol"`
	Runner       string            `msgpack:"runner"`
	PID          int               `msgpack:"pid"`
	Manifest     protocol.Manifest `msgpack:"manifest"`
	Capabilities Capabilities      `msgpack:"capabilities"`
	Memory       Memory            `msgpack:"memory"`
}
