package model

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/reel-video/reel/bus/protocol"
)

// SampleParams are the sampler settings; every field but Guide is
// meaningful (see DefaultSampleParams for the reference defaults).
type SampleParams struct {
	Frames   int     // video frames: a positive multiple of Config.FramesPerChunk
	Steps    int     // denoising steps, ≥ 1 (with Guide.Init, the full schedule's; see Guide)
	Guidance float64 // classifier-free guidance scale g: v = v(neg) + g·(v(prompt) − v(neg))
	Shift    float64 // sigma schedule shift k > 0: σ' = k·σ/(1+(k−1)·σ)
	Seed     int64   // noise seed (see Noise)

	// Guide, when not nil, conditions the sampling on existing latents
	// (extension, segments, remix). Sampling only reads it.
	Guide *Guide
}

// DefaultSampleParams returns the reference defaults: 48 frames, 30 steps,
// guidance 5, shift 3, seed 0.
func DefaultSampleParams() SampleParams {
	return SampleParams{Frames: 48, Steps: 30, Guidance: 5, Shift: 3}
}

// Guide conditions sampling on existing normalised latents; both parts are
// optional, training-free, and deterministic for a seed. ε below is the
// call's noise (Noise(Seed) for Sample, the given noise for SampleFrom).
//
// Known frames: Known is a latent [8, T, h, w] of the whole video and
// Fixed[t] (len T) marks the latent frames to keep. Before every DiT
// evaluation at σ the fixed frames are replaced by their noised version
// x = (1 − σ)·Known + σ·ε (the same ε at every step, so at σ = 1 it is the
// plain starting noise), and after the last step they are set to Known
// exactly. The other frames are generated consistently with them: the
// DiT's self-attention sees the known frames at the noise level it expects.
// Only the fixed frames of Known are read.
//
// Strength: Init, a latent [8, T, h, w], with Strength s in (0, 1] starts
// sampling at σ = s from x = (1 − s)·Init + s·ε instead of from ε. The
// schedule is the one of Steps steps truncated at s: s itself, then every
// scheduled sigma below s, so about the last s-th of the (shifted)
// schedule runs and s = 1 is exactly a fresh generation.
type Guide struct {
	Known    []float32
	Fixed    []bool
	Init     []float32
	Strength float64
}

func (g *Guide) check(size, t int) error {
	if g == nil {
		return nil
	}
	if g.Fixed != nil || g.Known != nil {
		if len(g.Fixed) != t {
			return fmt.Errorf("%w: guide: fixed marks %d latent frames, the video has %d", ErrInput, len(g.Fixed), t)
		}
		if len(g.Known) != size {
			return fmt.Errorf("%w: guide: known latent has %d values, want %d", ErrInput, len(g.Known), size)
		}
		if err := finite("known latent", g.Known); err != nil {
			return err
		}
	}
	if g.Init != nil || g.Strength != 0 {
		if !(g.Strength > 0 && g.Strength <= 1) {
			return fmt.Errorf("%w: guide: strength %v is outside (0, 1]", ErrInput, g.Strength)
		}
		if len(g.Init) != size {
			return fmt.Errorf("%w: guide: init latent has %d values, want %d", ErrInput, len(g.Init), size)
		}
		if err := finite("init latent", g.Init); err != nil {
			return err
		}
	}
	return nil
}

// finite rejects NaN and ±Inf: 0·Inf is NaN, so even s = 1 would not give
// a fresh generation.
func finite(what string, v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%w: guide: %s value %d is %v", ErrInput, what, i, x)
		}
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
	return p.Guide.check(e.cfg.LatentSize(p.Frames), e.cfg.LatentFrames(p.Frames))
}

// Sample denoises Noise(p.Seed, ·) into a normalised latent [8, T, h, w],
// T = Frames/4 and h, w = Config.LatentHeight, LatentWidth, with p.Steps
// flow-matching Euler steps and classifier-free guidance against uncond
// (the negative prompt's embedding), conditioned by p.Guide when set. With
// uncond nil guidance is off and only cond is evaluated. ctx is checked
// before every step; progress (may be nil) is called after each step with
// (done, total).
func (e *Engine) Sample(ctx context.Context, cond, uncond *TextEmbedding, p SampleParams, progress func(step, total int)) ([]float32, error) {
	if err := e.checkParams(p); err != nil {
		return nil, err
	}
	return e.SampleFrom(ctx, cond, uncond, Noise(p.Seed, e.cfg.LatentSize(p.Frames)), p, progress)
}

// SampleFrom is Sample starting from the given noise [8, T, h, w] instead
// of Noise(p.Seed); p.Seed is ignored. noise is not modified.
func (e *Engine) SampleFrom(ctx context.Context, cond, uncond *TextEmbedding, noise []float32, p SampleParams, progress func(step, total int)) ([]float32, error) {
	if err := e.checkParams(p); err != nil {
		return nil, err
	}
	t := e.cfg.LatentFrames(p.Frames)
	if want := e.cfg.LatentSize(p.Frames); len(noise) != want {
		return nil, fmt.Errorf("%w: noise has %d values, %d frames need %d", ErrInput, len(noise), p.Frames, want)
	}
	conds, err := e.prepareConds(cond, uncond)
	if err != nil {
		return nil, err
	}
	s := &sampler{e: e, conds: conds, w: e.dit.newWork(len(conds), t)}
	x := slices.Clone(noise)
	if err := s.run(ctx, x, noise, p, p.Guide, progress); err != nil {
		return nil, err
	}
	return x, nil
}

func (e *Engine) prepareConds(cond, uncond *TextEmbedding) ([]*textCond, error) {
	if err := e.need(protocol.ModelDiT, "sampling"); err != nil {
		return nil, err
	}
	if err := e.checkEmbedding("prompt", cond); err != nil {
		return nil, err
	}
	conds := []*textCond{e.dit.prepareText(cond)}
	if uncond != nil {
		if err := e.checkEmbedding("negative prompt", uncond); err != nil {
			return nil, err
		}
		conds = append(conds, e.dit.prepareText(uncond))
	}
	return conds, nil
}

// sampler is one sampling run's state: the prepared text conditions and
// the DiT's working memory, sized for one latent length and reused by
// every step (and every window of SampleWindows).
type sampler struct {
	e     *Engine
	conds []*textCond
	w     *ditWork
	v     [][]float32
}

// run denoises x in place (x holds noise on entry, a latent of w.t frames
// on return). eps is the noise the guide's formulas use; g may be nil.
func (s *sampler) run(ctx context.Context, x, eps []float32, p SampleParams, g *Guide, progress func(step, total int)) error {
	if len(s.v) != len(s.conds) || len(s.v[0]) != len(x) {
		s.v = make([][]float32, len(s.conds))
		for i := range s.v {
			s.v[i] = make([]float32, len(x))
		}
	}
	sig := sigmaSchedule(p.Steps, p.Shift)
	var fixed []bool
	if g != nil {
		fixed = g.Fixed
		if g.Init != nil {
			sig = truncateSchedule(sig, g.Strength)
			blend(x, g.Init, eps, g.Strength)
		}
	}
	plane := len(x) / (latentChannels * s.w.t)
	steps := len(sig) - 1
	gs := float32(p.Guidance)
	for i := 0; i < steps; i++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("model: sample step %d/%d: %w", i, steps, err)
		}
		if fixed != nil {
			noiseKnown(x, g.Known, eps, fixed, plane, sig[i])
		}
		s.e.dit.forward(s.w, x, sig[i], s.conds, s.v)
		// The step size is the float32 difference of the float32 sigmas,
		// as reel_tiny.py's float(sig[i+1] - sig[i]).
		dt := sig[i+1] - sig[i]
		if len(s.conds) == 2 {
			vc, vu := s.v[0], s.v[1]
			for j := range x {
				vg := vu[j] + float32(gs*(vc[j]-vu[j]))
				x[j] += float32(vg * dt)
			}
		} else {
			for j, vj := range s.v[0] {
				x[j] += float32(vj * dt)
			}
		}
		if progress != nil {
			progress(i+1, steps)
		}
	}
	if fixed != nil {
		noiseKnown(x, g.Known, eps, fixed, plane, 0)
	}
	return nil
}

// truncateSchedule starts a schedule at sigma s: s, then every scheduled
// sigma below it (the last one, 0, always is). s = 1 returns the schedule
// unchanged, since it starts at exactly 1.
func truncateSchedule(sig []float32, s float64) []float32 {
	s32 := float32(s)
	for k, v := range sig {
		if v < s32 {
			return append([]float32{s32}, sig[k:]...)
		}
	}
	return []float32{s32, 0} // unreachable for a schedule ending at 0
}

// blend sets x = (1 − s)·x0 + s·ε in float32, rounding like PyTorch's
// (1 - s) * x0 + s * eps with a Python float s: 1 − s in float64, each
// factor and product rounded to float32.
func blend(x, x0, eps []float32, s float64) {
	a, b := float32(1-s), float32(s)
	for j := range x {
		x[j] = float32(a*x0[j]) + float32(b*eps[j])
	}
}

// noiseKnown sets the fixed latent frames of x [C, T, plane] to
// (1 − σ)·known + σ·ε (σ = 0: known exactly).
func noiseKnown(x, known, eps []float32, fixed []bool, plane int, sigma float32) {
	t := len(fixed)
	a := float32(1 - float64(sigma))
	for c := 0; c < len(x)/(t*plane); c++ {
		for f, on := range fixed {
			if !on {
				continue
			}
			o := (c*t + f) * plane
			xs, ks, es := x[o:o+plane], known[o:o+plane], eps[o:o+plane]
			if sigma == 0 {
				copy(xs, ks)
				continue
			}
			for j := range xs {
				xs[j] = float32(a*ks[j]) + float32(sigma*es[j])
			}
		}
	}
}

// velocity is one DiT evaluation v(z, sigma, text) (tests and tools).
func (e *Engine) velocity(z []float32, t int, sigma float32, text *TextEmbedding) []float32 {
	w := e.dit.newWork(1, t)
	v := make([]float32, len(z))
	e.dit.forward(w, z, sigma, []*textCond{e.dit.prepareText(text)}, [][]float32{v})
	return v
}
