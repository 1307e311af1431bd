package runner

// Manifest describes the model a runner serves, as its hello answer states
// it (docs/runner.md). It mirrors bus/protocol.Manifest (branch engine)
// field for field, msgpack names included, so that the runner's hello
// decodes into either; once that package is merged this becomes
// "type Manifest = protocol.Manifest".
type Manifest struct {
	Model                string           `msgpack:"model"`      // job-facing id ("reel-tiny")
	Checkpoint           string           `msgpack:"checkpoint"` // the weights' model name
	Digest               string           `msgpack:"digest"`     // "sha256:" of text‖DiT‖VAE file bytes
	LatentChannels       int              `msgpack:"latent_channels"`
	LatentHeight         int              `msgpack:"latent_height"`
	LatentWidth          int              `msgpack:"latent_width"`
	LatentFramesPerChunk int              `msgpack:"latent_frames_per_chunk"`
	FramesPerChunk       int              `msgpack:"frames_per_chunk"`
	Width                int              `msgpack:"width"`
	Height               int              `msgpack:"height"`
	FPS                  int              `msgpack:"fps"`
	TextLength           int              `msgpack:"text_length"`
	TextDim              int              `msgpack:"text_dim"`
	MaxFrames            int              `msgpack:"max_frames"`
	WindowFrames         int              `msgpack:"window_frames"`
	OverlapFrames        int              `msgpack:"overlap_frames"`
	MaxSteps             int              `msgpack:"max_steps"`
	MaxGuidance          float64          `msgpack:"max_guidance"`
	Defaults             ManifestDefaults `msgpack:"defaults"`
	Resident             ManifestBytes    `msgpack:"resident"` // weights as loaded in the runner
	Files                ManifestBytes    `msgpack:"files"`    // checkpoint file sizes
	FP8                  bool             `msgpack:"fp8"`      // the DiT checkpoint's block weights are E4M3
}

// ManifestDefaults are a model's default job settings.
type ManifestDefaults struct {
	Frames   int     `msgpack:"frames"`
	Steps    int     `msgpack:"steps"`
	Guidance float64 `msgpack:"guidance"`
	Shift    float64 `msgpack:"shift"`
}

// ManifestBytes is a size in bytes for each part of a model.
type ManifestBytes struct {
	Text int64 `msgpack:"text"`
	DiT  int64 `msgpack:"dit"`
	VAE  int64 `msgpack:"vae"`
}

// LatentFrames is T, the latent frames of a video of frames frames.
func (m Manifest) LatentFrames(frames int) int {
	return frames / m.FramesPerChunk * m.LatentFramesPerChunk
}

// ChunkLatentSize is the number of float32 values of one latent chunk.
func (m Manifest) ChunkLatentSize() int {
	return m.LatentChannels * m.LatentFramesPerChunk * m.LatentHeight * m.LatentWidth
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
