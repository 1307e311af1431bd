package main

import (
	"fmt"

	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/encode"
	"github.com/reel-video/reel/stages/encode/video"
	"github.com/spf13/pflag"
)

// encodeFlags are the encode stage's defaults, applied to jobs that set no
// output settings of their own (`reel submit --crf/--codec/--seam-blend`
// override them per job).
type encodeFlags struct{ o stages.OutputDefaults }

func (f *encodeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.o.FFmpeg, "ffmpeg", "", `encode: ffmpeg binary ("" = PATH, "none" = pure Go)`)
	fs.StringVar(&f.o.Codec, "codec", "", `encode: default codec ("" = h264, the one codec every browser plays from MP4)`)
	fs.IntVar(&f.o.CRF, "crf", 0, fmt.Sprintf("encode: default x264 CRF 1..51 (0 = %d)", video.DefaultCRF))
	fs.DurationVar(&f.o.ChunkWait, "chunk-wait", encode.DefaultChunkWait, "encode: longest wait for a job's next frames chunk before the job fails")
	fs.Float64Var(&f.o.SeamBlend, "seam-blend", 0, fmt.Sprintf("encode: default seam blend 0..0.5 (0 = %.1f, negative = off)", video.DefaultSeamBlend))
}

// validate refuses bad defaults at start-up rather than failing every job.
func (f *encodeFlags) validate() error {
	o := video.Options{Width: 64, Height: 64, FPS: 8, Codec: f.o.Codec, CRF: f.o.CRF, SeamBlend: f.o.SeamBlend}
	if err := o.Validate(); err != nil {
		return fmt.Errorf("encode defaults: %w", err)
	}
	return nil
}
