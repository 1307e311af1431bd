package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/reel-video/reel/model/safetensors"
)

// Options selects the weights an Engine loads. An empty path means the
// weights built into the binary (package model/weights: FP8 DiT, BF16 text
// encoder and VAE decoder). A DiT file whose block weights are F8_E4M3 (with
// "<name>_scale" rows) runs with FP8 weights; a BF16/F16/F32 one runs in
// float32.
type Options struct {
	DiTPath  string
	TextPath string
	VAEPath  string
}

// Engine is the reel-tiny text-to-video model. It is immutable once loaded
// and safe for concurrent use: every call keeps its own buffers.
type Engine struct {
	cfg  Config
	text *textEncoder
	dit  *dit
	vae  *vaeDecoder
}

// TextEmbedding is the text encoder's output for one prompt: Hidden
// [TextMaxLen·TextDim] row-major and Mask [TextMaxLen] (true on non-PAD).
// Sample only reads it, so one embedding may serve many Sample calls
// (replays with another seed, step count or guidance).
type TextEmbedding struct {
	Hidden []float32
	Mask   []bool
}

// SampleParams are the sampler settings; every field is meaningful (see
// DefaultSampleParams for the reference defaults).
type SampleParams struct {
	Frames   int     // video frames: a positive multiple of Config.FramesPerChunk
	Steps    int     // denoising steps, ≥ 1
	Guidance float64 // classifier-free guidance scale g: v = v(neg) + g·(v(prompt) − v(neg))
	Shift    float64 // sigma schedule shift k > 0: σ' = k·σ/(1+(k−1)·σ)
	Seed     int64   // noise seed (see Noise)
}

// DefaultSampleParams returns the reference defaults: 48 frames, 30 steps,
// guidance 5, shift 3, seed 0.
func DefaultSampleParams() SampleParams {
	return SampleParams{Frames: 48, Steps: 30, Guidance: 5, Shift: 3}
}

// ErrInput is wrapped by errors about call arguments (sizes, settings).
var ErrInput = errors.New("model: bad input")

// source yields one checkpoint's bytes and the name used in errors.
type source struct {
	name string
	read func() ([]byte, error)
}

func fileSource(path string) source {
	return source{name: path, read: func() ([]byte, error) { return os.ReadFile(path) }}
}

func pick(path string, embedded source) source {
	if path != "" {
		return fileSource(path)
	}
	return embedded
}

// Load reads the three checkpoints and builds the engine. Configs carried by
// the files must agree; at least one file must carry one.
func Load(opts Options) (*Engine, error) {
	emb := embeddedSources()
	return load(pick(opts.TextPath, emb.text), pick(opts.DiTPath, emb.dit), pick(opts.VAEPath, emb.vae))
}

func load(textSrc, ditSrc, vaeSrc source) (*Engine, error) {
	var files [3]tensors
	var cfg Config
	haveCfg := false
	for i, src := range []source{textSrc, ditSrc, vaeSrc} {
		b, err := src.read()
		if err != nil {
			return nil, fmt.Errorf("model: load %s: %w", src.name, err)
		}
		f, err := safetensors.Parse(src.name, b)
		if err != nil {
			return nil, fmt.Errorf("model: load: %w", err)
		}
		c, ok, err := fileConfig(src.name, f)
		if err != nil {
			return nil, err
		}
		if ok && haveCfg && !c.equal(cfg) {
			return nil, fmt.Errorf("%w: %s: config differs from the other weight files", ErrConfig, src.name)
		}
		if ok && !haveCfg {
			cfg, haveCfg = c, true
		}
		files[i] = tensors{file: src.name, f: f}
	}
	if !haveCfg {
		return nil, fmt.Errorf("%w: no weight file carries __metadata__.config", ErrConfig)
	}
	e := &Engine{cfg: cfg}
	var err error
	if e.text, err = loadTextEncoder(cfg, files[0]); err != nil {
		return nil, err
	}
	if e.dit, err = loadDiT(cfg, files[1]); err != nil {
		return nil, err
	}
	if e.vae, err = loadVAE(cfg, files[2]); err != nil {
		return nil, err
	}
	return e, nil
}

// Config returns the model configuration.
func (e *Engine) Config() Config { return e.cfg }

// DiTFP8 reports whether the DiT block weights are FP8.
func (e *Engine) DiTFP8() bool { return e.dit.fp8 }

// EncodeText tokenizes and encodes a prompt (use "" for the default
// negative prompt).
func (e *Engine) EncodeText(ctx context.Context, prompt string) (*TextEmbedding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ids, mask := e.cfg.Tokenize(prompt)
	return &TextEmbedding{Hidden: e.text.encode(ids, mask), Mask: mask}, nil
}

func (e *Engine) checkEmbedding(what string, t *TextEmbedding) error {
	if t == nil {
		return fmt.Errorf("%w: %s embedding is nil", ErrInput, what)
	}
	if len(t.Mask) == 0 || len(t.Hidden) != len(t.Mask)*e.cfg.TextDim {
		return fmt.Errorf("%w: %s embedding has %d hidden values for %d tokens of %d", ErrInput, what,
			len(t.Hidden), len(t.Mask), e.cfg.TextDim)
	}
	if !slices.Contains(t.Mask, true) {
		return fmt.Errorf("%w: %s embedding masks every token", ErrInput, what)
	}
	return nil
}

func (e *Engine) checkParams(p SampleParams) error {
	switch {
	case p.Frames <= 0 || p.Frames%e.cfg.FramesPerChunk != 0:
		return fmt.Errorf("%w: frames %d is not a positive multiple of %d", ErrInput, p.Frames, e.cfg.FramesPerChunk)
	case p.Steps < 1:
		return fmt.Errorf("%w: steps %d < 1", ErrInput, p.Steps)
	case !(p.Shift > 0) || math.IsInf(p.Shift, 1):
		return fmt.Errorf("%w: shift %v must be finite and > 0", ErrInput, p.Shift)
	case math.IsNaN(p.Guidance) || math.IsInf(p.Guidance, 0):
		return fmt.Errorf("%w: guidance %v must be finite", ErrInput, p.Guidance)
	}
	return nil
}

// Sample denoises Noise(p.Seed, ·) into a normalised latent [8, T, 8, 8],
// T = Frames/4, with p.Steps flow-matching Euler steps and classifier-free
// guidance against uncond (the negative prompt's embedding). With uncond nil
// guidance is off and only cond is evaluated. ctx is checked before every
// step; progress (may be nil) is called after each step with (done, total).
func (e *Engine) Sample(ctx context.Context, cond, uncond *TextEmbedding, p SampleParams, progress func(step, total int)) ([]float32, error) {
	if err := e.checkParams(p); err != nil {
		return nil, err
	}
	n := e.cfg.LatentChannels * e.cfg.LatentFrames(p.Frames) * latentPlane
	return e.SampleFrom(ctx, cond, uncond, Noise(p.Seed, n), p, progress)
}

// SampleFrom is Sample starting from the given noise [8, T, 8, 8] instead
// of Noise(p.Seed); p.Seed is ignored. noise is not modified.
func (e *Engine) SampleFrom(ctx context.Context, cond, uncond *TextEmbedding, noise []float32, p SampleParams, progress func(step, total int)) ([]float32, error) {
	if err := e.checkParams(p); err != nil {
		return nil, err
	}
	if err := e.checkEmbedding("prompt", cond); err != nil {
		return nil, err
	}
	t := e.cfg.LatentFrames(p.Frames)
	if want := e.cfg.LatentChannels * t * latentPlane; len(noise) != want {
		return nil, fmt.Errorf("%w: noise has %d values, %d frames need %d", ErrInput, len(noise), p.Frames, want)
	}
	conds := []*textCond{e.dit.prepareText(cond)}
	if uncond != nil {
		if err := e.checkEmbedding("negative prompt", uncond); err != nil {
			return nil, err
		}
		conds = append(conds, e.dit.prepareText(uncond))
	}
	w := e.dit.newWork(len(conds), t)
	v := make([][]float32, len(conds))
	for i := range v {
		v[i] = make([]float32, len(noise))
	}
	x := slices.Clone(noise)
	sig := sigmaSchedule(p.Steps, p.Shift)
	g := float32(p.Guidance)
	for i := 0; i < p.Steps; i++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("model: sample step %d/%d: %w", i, p.Steps, err)
		}
		e.dit.forward(w, x, sig[i], conds, v)
		// The step size is the float32 difference of the float32 sigmas,
		// as reel_tiny.py's float(sig[i+1] - sig[i]).
		dt := sig[i+1] - sig[i]
		if len(conds) == 2 {
			vc, vu := v[0], v[1]
			for j := range x {
				vg := vu[j] + float32(g*(vc[j]-vu[j]))
				x[j] += float32(vg * dt)
			}
		} else {
			for j, vj := range v[0] {
				x[j] += float32(vj * dt)
			}
		}
		if progress != nil {
			progress(i+1, p.Steps)
		}
	}
	return x, nil
}

// velocity is one DiT evaluation v(z, sigma, text) (tests and tools).
func (e *Engine) velocity(z []float32, t int, sigma float32, text *TextEmbedding) []float32 {
	w := e.dit.newWork(1, t)
	v := make([]float32, len(z))
	e.dit.forward(w, z, sigma, []*textCond{e.dit.prepareText(text)}, [][]float32{v})
	return v
}
