package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Config is the reel-tiny model configuration, as stored in every weight
// file's __metadata__.config (reel_tiny.py CONFIG).
type Config struct {
	Name                 string  `json:"name"`
	Height               int     `json:"height"`
	Width                int     `json:"width"`
	FPS                  int     `json:"fps"`
	FramesPerChunk       int     `json:"frames_per_chunk"`
	LatentFramesPerChunk int     `json:"latent_frames_per_chunk"`
	LatentChannels       int     `json:"latent_channels"`
	SpatialCompression   int     `json:"spatial_compression"`
	TemporalCompression  int     `json:"temporal_compression"`
	TextVocab            int     `json:"text_vocab"`
	TextMaxLen           int     `json:"text_max_len"`
	TextDim              int     `json:"text_dim"`
	TextLayers           int     `json:"text_layers"`
	TextHeads            int     `json:"text_heads"`
	TextBOS              int     `json:"text_bos"`
	TextEOS              int     `json:"text_eos"`
	TextPad              int     `json:"text_pad"`
	DiTDim               int     `json:"dit_dim"`
	DiTLayers            int     `json:"dit_layers"`
	DiTHeads             int     `json:"dit_heads"`
	Patch                []int   `json:"patch"`
	RopeSplit            []int   `json:"rope_split"`
	RopeBase             float64 `json:"rope_base"`
	NormEps              float64 `json:"norm_eps"`
	VAEChannels          []int   `json:"vae_channels"`
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("model: bad config")

// The parts of the architecture that the Go code hard-wires (the layer
// graph of reel_tiny.py); a config that disagrees is rejected at load
// rather than producing garbage. The frame size is not among them: the DiT
// is patches plus RoPE and the VAE is convolutional, so any multiple of
// frameQuantum runs on the same weights (see Options.Width).
const (
	latentChannels      = 8
	latentFrames        = 4 // latent frames per chunk
	framesPerChunk      = 16
	spatialCompression  = 8 // the VAE's three 2× spatial upsamplings
	temporalCompression = framesPerChunk / latentFrames
	patchSide           = 2
	frameQuantum        = spatialCompression * patchSide // frame sides are multiples of this
	maxFrameSide        = 4096                           // catches typos before they allocate gigabytes
	vaeStages           = 4
	textVocabMinimum    = 256 + 3 // bytes + BOS, EOS, PAD
)

// ParseConfig decodes the JSON config of a weight file and checks that it
// describes a model this package implements.
func ParseConfig(s string) (Config, error) {
	var c Config
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func (c Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	switch {
	case c.LatentChannels != latentChannels:
		return bad("latent_channels %d, want %d", c.LatentChannels, latentChannels)
	case c.LatentFramesPerChunk != latentFrames || c.FramesPerChunk != framesPerChunk ||
		c.TemporalCompression != framesPerChunk/latentFrames:
		return bad("chunking %d latent -> %d frames (x%d), want %d -> %d", c.LatentFramesPerChunk,
			c.FramesPerChunk, c.TemporalCompression, latentFrames, framesPerChunk)
	case c.SpatialCompression != spatialCompression:
		return bad("spatial_compression %d, want %d", c.SpatialCompression, spatialCompression)
	case !frameSideOK(c.Width) || !frameSideOK(c.Height):
		return bad("frame %dx%d: sides must be positive multiples of %d up to %d", c.Width, c.Height,
			frameQuantum, maxFrameSide)
	case c.FPS <= 0:
		return bad("fps %d", c.FPS)
	case c.TextVocab < textVocabMinimum || c.TextMaxLen < 2:
		return bad("text_vocab %d, text_max_len %d", c.TextVocab, c.TextMaxLen)
	case !tokenOK(c.TextBOS, c.TextVocab) || !tokenOK(c.TextEOS, c.TextVocab) || !tokenOK(c.TextPad, c.TextVocab):
		return bad("special tokens %d %d %d outside vocab %d", c.TextBOS, c.TextEOS, c.TextPad, c.TextVocab)
	case c.TextLayers <= 0 || c.TextHeads <= 0 || c.TextDim <= 0 || c.TextDim%c.TextHeads != 0:
		return bad("text encoder d %d heads %d layers %d", c.TextDim, c.TextHeads, c.TextLayers)
	case c.DiTLayers <= 0 || c.DiTHeads <= 0 || c.DiTDim <= 0 || c.DiTDim%c.DiTHeads != 0:
		return bad("DiT d %d heads %d layers %d", c.DiTDim, c.DiTHeads, c.DiTLayers)
	case !slices.Equal(c.Patch, []int{1, patchSide, patchSide}):
		return bad("patch %v, want [1 2 2]", c.Patch)
	case c.RopeBase <= 0:
		return bad("rope_base %v", c.RopeBase)
	case c.NormEps <= 0:
		return bad("norm_eps %v", c.NormEps)
	case len(c.VAEChannels) != vaeStages:
		return bad("vae_channels %v, want %d stages", c.VAEChannels, vaeStages)
	}
	sum := 0
	for _, d := range c.RopeSplit {
		if d <= 0 || d%2 != 0 {
			return bad("rope_split %v: every part must be even and positive", c.RopeSplit)
		}
		sum += d
	}
	if len(c.RopeSplit) != 3 || sum != c.DiTDim/c.DiTHeads {
		return bad("rope_split %v must have 3 parts summing to head_dim %d", c.RopeSplit, c.DiTDim/c.DiTHeads)
	}
	for _, ch := range c.VAEChannels {
		if ch <= 0 {
			return bad("vae_channels %v", c.VAEChannels)
		}
	}
	return nil
}

func tokenOK(id, vocab int) bool { return id >= 256 && id < vocab }

func frameSideOK(n int) bool { return n > 0 && n%frameQuantum == 0 && n <= maxFrameSide }

// equal reports whether two configs describe the same model.
func (c Config) equal(o Config) bool {
	return c.Name == o.Name && c.Height == o.Height && c.Width == o.Width && c.FPS == o.FPS &&
		c.FramesPerChunk == o.FramesPerChunk && c.LatentFramesPerChunk == o.LatentFramesPerChunk &&
		c.LatentChannels == o.LatentChannels && c.SpatialCompression == o.SpatialCompression &&
		c.TemporalCompression == o.TemporalCompression && c.TextVocab == o.TextVocab &&
		c.TextMaxLen == o.TextMaxLen && c.TextDim == o.TextDim && c.TextLayers == o.TextLayers &&
		c.TextHeads == o.TextHeads && c.TextBOS == o.TextBOS && c.TextEOS == o.TextEOS &&
		c.TextPad == o.TextPad && c.DiTDim == o.DiTDim && c.DiTLayers == o.DiTLayers &&
		c.DiTHeads == o.DiTHeads && slices.Equal(c.Patch, o.Patch) && slices.Equal(c.RopeSplit, o.RopeSplit) &&
		c.RopeBase == o.RopeBase && c.NormEps == o.NormEps && slices.Equal(c.VAEChannels, o.VAEChannels)
}

// LatentHeight is the latent grid's height (Height / SpatialCompression).
func (c Config) LatentHeight() int { return c.Height / c.SpatialCompression }

// LatentWidth is the latent grid's width (Width / SpatialCompression).
func (c Config) LatentWidth() int { return c.Width / c.SpatialCompression }

// latentPlane is the number of latent values per channel and latent frame.
func (c Config) latentPlane() int { return c.LatentHeight() * c.LatentWidth() }

// LatentSize is the number of values of a normalised latent for a video of
// frames frames: LatentChannels · LatentFrames(frames) · LatentHeight ·
// LatentWidth.
func (c Config) LatentSize(frames int) int {
	return c.LatentChannels * c.LatentFrames(frames) * c.latentPlane()
}

// LatentFrames returns the number of latent frames for a video of frames
// frames (frames must be a whole number of chunks).
func (c Config) LatentFrames(frames int) int {
	return frames / c.FramesPerChunk * c.LatentFramesPerChunk
}
