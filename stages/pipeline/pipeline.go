// Package pipeline wires the four stage handlers to the real engine and the
// stage runner. `reel stage X` (one stage, its own process), `reel server
// --stages` and `reel generate` (all stages in one process) all start
// stages through Run, so in-process and distributed runs share one code path.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/denoise"
	"github.com/reel-video/reel/stages/encode"
	"github.com/reel-video/reel/stages/textenc"
	"github.com/reel-video/reel/stages/vaedecode"
	"github.com/rs/zerolog"
)

// Options says which stages to run and how.
type Options struct {
	Bus *bus.Bus // required
	// Stages maps stage name to worker slots (concurrency) in this process.
	Stages map[string]int
	// Engine is loaded on demand (model.Load with EngineOptions) when nil
	// and a model stage is requested.
	Engine        *model.Engine
	EngineOptions model.Options
	Encode        EncodeOptions
	// DeadLetters also runs the dead-letter handler and the job-record
	// projector (orchestrator.Projector) in this process.
	DeadLetters bool
	// Runner hooks (internal/mem, internal/gpu).
	Admit      func(ctx context.Context, req stages.AdmitRequest) (release func(), err error)
	Describe   func(info *stages.WorkerInfo)
	Middleware []stages.Middleware
	// Started, if set, is called with the runners once they are built.
	Started func([]*stages.Runner)
	Log     zerolog.Logger
}

// EncodeOptions are the encode stage defaults.
type EncodeOptions struct {
	FFmpeg    string // "" = PATH, "none" = pure Go
	Codec     string
	CRF       int
	SeamBlend float64
	FPS       int // 0 = the model's fps
	WorkDir   string
}

// Validate checks the options.
func (o Options) Validate() error {
	if o.Bus == nil {
		return errors.New("pipeline: bus is required")
	}
	if len(o.Stages) == 0 && !o.DeadLetters {
		return errors.New("pipeline: no stage to run")
	}
	for s, n := range o.Stages {
		if _, err := protocol.InputKind(s); err != nil {
			return err
		}
		if n < 1 {
			return fmt.Errorf("pipeline: stage %s: concurrency %d < 1", s, n)
		}
	}
	return nil
}

// Run builds a runner per requested stage and serves until ctx ends.
func Run(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	store := orchestrator.NewStore(o.Bus, o.Log)
	if o.Engine == nil && needsEngine(o.Stages) {
		e, err := model.Load(o.EngineOptions)
		if err != nil {
			return fmt.Errorf("load model: %w", err)
		}
		o.Engine = e
	}
	var runners []*stages.Runner
	for _, s := range protocol.Stages() {
		n, ok := o.Stages[s]
		if !ok {
			continue
		}
		h, err := Handler(s, o)
		if err != nil {
			return err
		}
		r, err := stages.NewRunner(stages.Config{
			Stage: s, Bus: o.Bus, Tracker: store, Handler: h, Concurrency: n,
			Admit: o.Admit, Describe: o.Describe, Log: o.Log,
			Middleware: append([]stages.Middleware{stages.Retry{}.Middleware()}, o.Middleware...),
		})
		if err != nil {
			return err
		}
		runners = append(runners, r)
	}
	if o.Started != nil {
		o.Started(runners)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil && first == nil {
			first = err
			cancel(err)
		}
	}
	for _, r := range runners {
		wg.Go(func() { fail(r.Run(ctx)) })
	}
	if o.DeadLetters {
		wg.Go(func() { fail(orchestrator.DeadLetters{Store: store}.Run(ctx)) })
		wg.Go(func() { fail(orchestrator.Projector{Store: store}.Run(ctx)) })
	}
	wg.Wait()
	return first
}

func needsEngine(s map[string]int) bool {
	for k := range s {
		if k != protocol.StageEncode {
			return true
		}
	}
	return false
}

// Handler builds one stage's handler on the engine.
func Handler(stage string, o Options) (stages.Handler, error) {
	if o.Engine == nil && stage != protocol.StageEncode {
		return nil, fmt.Errorf("stage %s needs the model", stage)
	}
	eng := engine{o.Engine}
	switch stage {
	case protocol.StageTextEnc:
		c := o.Engine.Config()
		return textenc.New(textenc.Config{Encoder: eng, SeqLen: c.TextMaxLen, Dim: c.TextDim})
	case protocol.StageDenoise:
		c := o.Engine.Config()
		lh, lw := c.Height/c.SpatialCompression, c.Width/c.SpatialCompression
		return denoise.New(denoise.Config{Sampler: eng, SeqLen: c.TextMaxLen, Dim: c.TextDim,
			Channels: c.LatentChannels, FramesPerChunk: c.LatentFramesPerChunk, Height: lh, Width: lw})
	case protocol.StageVAEDecode:
		c := o.Engine.Config()
		lh, lw := c.Height/c.SpatialCompression, c.Width/c.SpatialCompression
		return vaedecode.New(vaedecode.Config{Decoder: eng, Channels: c.LatentChannels, LatentFrames: c.LatentFramesPerChunk,
			LatentH: lh, LatentW: lw, Frames: c.FramesPerChunk, Height: c.Height, Width: c.Width})
	case protocol.StageEncode:
		fps := o.Encode.FPS
		w, h, per := 64, 64, protocol.FramesPerChunk
		if o.Engine != nil {
			c := o.Engine.Config()
			w, h, per = c.Width, c.Height, c.FramesPerChunk
			if fps == 0 {
				fps = c.FPS
			}
		}
		if fps == 0 {
			fps = 8
		}
		return encode.New(encode.Config{Width: w, Height: h, FPS: fps, FramesPerChunk: per, Codec: o.Encode.Codec,
			CRF: o.Encode.CRF, SeamBlend: o.Encode.SeamBlend, FFmpeg: o.Encode.FFmpeg, WorkDir: o.Encode.WorkDir})
	}
	return nil, fmt.Errorf("unknown stage %q", stage)
}
