package stages

import (
	"fmt"
	"time"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/mem"
)

// Descriptor declares one stage, once, in the stage's own package: its place
// on the bus and how to build its handler. stages/registry lists them in
// pipeline order; the wiring (stages/pipeline, cmd/reel) and the operator
// commands take everything stage-specific from there.
type Descriptor struct {
	protocol.StageSpec // its Model says whether the handler computes with an engine
	// New builds the stage's handler.
	New func(Deps) (Handler, error)
	// ReplaySettings are the settings a replay from this stage may change.
	ReplaySettings []string
	// Estimate is the memory one message of this stage needs, from the
	// model's manifest and the job's settings (internal/mem); admission
	// weighs it against the process's budget before the handler runs.
	Estimate func(e mem.Estimator, m protocol.Manifest, s protocol.Settings) mem.Estimate
	// SlotsPerWorker is how many runner slots one unit of concurrency opens
	// (0 means 1): more for a stage whose slots mostly wait (encode).
	SlotsPerWorker int
}

// Slots is the runner concurrency for n units of concurrency.
func (d Descriptor) Slots(n int) int { return n * max(1, d.SlotsPerWorker) }

// Deps is what a handler is built from.
type Deps struct {
	// Engine computes for stages that need one. Each stage asserts the role
	// interface it declares (textenc.Encoder, denoise.Sampler,
	// vaedecode.Decoder); an engine lacking it is refused at start-up.
	Engine any
	// Manifest describes the model the engine serves: the geometry every
	// stage takes its sizes from. A stage without an engine is given the
	// model of the process's other stages' engines (zero if it has none).
	Manifest protocol.Manifest
	// Output holds the encode stage's defaults.
	Output OutputDefaults
}

// OutputDefaults are the encode stage's defaults; a job's settings override
// fps, codec, CRF and seam blend.
type OutputDefaults struct {
	FFmpeg    string  // "" = PATH, "none" = pure Go
	Codec     string  // "" = the video library's default (h264)
	CRF       int     // 0 = the video library's default
	SeamBlend float64 // 0 = the video library's default, negative = off
	FPS       int     // 0 = the model's fps
	WorkDir   string  // temporary files; "" = os.TempDir()
	// ChunkWait bounds the wait for a job's next chunk (0: the stage's
	// default).
	ChunkWait time.Duration
}

// EngineAs asserts the engine to the role interface a stage needs.
func EngineAs[T any](d Deps, stage string) (T, error) {
	e, ok := d.Engine.(T)
	if !ok {
		var zero T
		if d.Engine == nil {
			return zero, fmt.Errorf("stage %s needs a model engine", stage)
		}
		return zero, fmt.Errorf("stage %s: engine %T cannot serve it (want %T)", stage, d.Engine, (*T)(nil))
	}
	return e, nil
}
