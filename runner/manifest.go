package runner

// Manifest describes the model a runner serves, as its hello answer states
// it (docs/runner.md). The stage checks its geometry against what it sends
// and receives; WeightsDigest identifies the checkpoints.
type Manifest struct {
	Name          string            `msgpack:"name"`
	WeightsDigest string            `msgpack:"weights_digest"`
	Weights       map[string]string `msgpack:"weights,omitempty"` // per-file sha256, by role
	Latent        LatentGeometry    `msgpack:"latent"`
	Video         VideoGeometry     `msgpack:"video"`
	Text          TextGeometry      `msgpack:"text"`
	Defaults      Defaults          `msgpack:"defaults"`
}

// LatentGeometry is one latent chunk [Channels, FramesPerChunk, Height, Width].
type LatentGeometry struct {
	Channels       int `msgpack:"channels"`
	FramesPerChunk int `msgpack:"frames_per_chunk"`
	Height         int `msgpack:"height"`
	Width          int `msgpack:"width"`
}

// ChunkLen is the number of values in one latent chunk.
func (g LatentGeometry) ChunkLen() int { return g.Channels * g.FramesPerChunk * g.Height * g.Width }

// VideoGeometry is what one latent chunk decodes to: FramesPerChunk frames
// of Height×Width RGB24, played at FPS.
type VideoGeometry struct {
	FramesPerChunk int `msgpack:"frames_per_chunk"`
	Height         int `msgpack:"height"`
	Width          int `msgpack:"width"`
	FPS            int `msgpack:"fps"`
}

// TextGeometry is the text embedding [MaxLen, Dim] (and mask [MaxLen]).
type TextGeometry struct {
	MaxLen int `msgpack:"max_len"`
	Dim    int `msgpack:"dim"`
}

// Defaults are the model's recommended sampler settings.
type Defaults struct {
	Frames   int     `msgpack:"frames"`
	Steps    int     `msgpack:"steps"`
	Guidance float64 `msgpack:"guidance"`
	Shift    float64 `msgpack:"shift"`
}

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
	Protocol     int          `msgpack:"protocol"`
	Runner       string       `msgpack:"runner"`
	PID          int          `msgpack:"pid"`
	Manifest     Manifest     `msgpack:"manifest"`
	Capabilities Capabilities `msgpack:"capabilities"`
	Memory       Memory       `msgpack:"memory"`
}
