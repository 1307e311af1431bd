package video

import (
	"errors"
	"fmt"
)

// Defaults applied by NewWriter to zero-valued Options fields.
const (
	DefaultCodec = "h264"
	// DefaultCRF 18 is x264's usual "visually lossless" point; at reel-tiny's
	// 64×64 the files are small at any CRF, so favour quality.
	DefaultCRF = 18
	// DefaultSeamBlend minimises the largest frame step around a chunk
	// boundary on real reel-tiny output (see the package doc and
	// docs/seam-blend.md).
	DefaultSeamBlend = 0.3
)

// Options configures a Writer. The zero value of every field but Width,
// Height and FPS means "default".
type Options struct {
	Width, Height, FPS int
	// Codec is the output codec; only "h264" (the default) is supported,
	// because it is the one codec every browser plays from an MP4.
	Codec string
	// CRF is the x264 constant rate factor on the ffmpeg path, 1..51;
	// 0 means DefaultCRF. The pure-Go path is lossless and ignores it.
	CRF int
	// FFmpeg is "" to look ffmpeg up on PATH, a path to a binary, or
	// "none" to force the pure-Go encoder.
	FFmpeg string
	// SeamBlend is the weight each boundary frame takes from its neighbour
	// across a chunk boundary (Step-Video's 0.6/0.4 mix is 0.4). 0 means
	// DefaultSeamBlend; a negative value turns blending off; at most 0.5
	// (beyond that the two frames swap places).
	SeamBlend float64
	// ChunkFrames is the number of frames WriteChunk is given at a time (a
	// model chunk); 0 = not known. x264 then looks ahead at most one chunk
	// (see x264Lookahead): its preset's 40 frames would hold back the
	// encode of most of a short video until its last chunk arrived.
	ChunkFrames int
}

// withDefaults validates o and fills in defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Width <= 0 || o.Height <= 0 {
		return o, fmt.Errorf("video: bad size %dx%d", o.Width, o.Height)
	}
	// 4:2:0 needs even dimensions (x264 refuses odd ones; the pure-Go
	// path crops in chroma units of 2).
	if o.Width%2 != 0 || o.Height%2 != 0 {
		return o, fmt.Errorf("video: size %dx%d must be even for yuv420p", o.Width, o.Height)
	}
	if o.Width > 4096 || o.Height > 4096 {
		return o, fmt.Errorf("video: size %dx%d too large (max 4096)", o.Width, o.Height)
	}
	if o.FPS <= 0 || o.FPS > 240 {
		return o, fmt.Errorf("video: bad fps %d", o.FPS)
	}
	switch o.Codec {
	case "":
		o.Codec = DefaultCodec
	case DefaultCodec:
	default:
		return o, fmt.Errorf("video: unsupported codec %q (only %q)", o.Codec, DefaultCodec)
	}
	switch {
	case o.CRF == 0:
		o.CRF = DefaultCRF
	case o.CRF < 1 || o.CRF > 51:
		return o, fmt.Errorf("video: crf %d out of range 1..51", o.CRF)
	}
	if o.ChunkFrames < 0 {
		return o, fmt.Errorf("video: bad frames per chunk %d", o.ChunkFrames)
	}
	switch {
	case o.SeamBlend == 0:
		o.SeamBlend = DefaultSeamBlend
	case o.SeamBlend < 0:
		o.SeamBlend = 0 // off
	case o.SeamBlend > 0.5:
		return o, errors.New("video: seam blend must be <= 0.5")
	}
	return o, nil
}

func (o Options) frameSize() int { return o.Width * o.Height * 3 }

// Validate reports whether opts would be accepted by NewWriter, so job
// settings can be rejected at submission rather than at the encode stage.
func (o Options) Validate() error {
	_, err := o.withDefaults()
	return err
}
