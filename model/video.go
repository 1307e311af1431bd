package model

import (
	"context"
	"fmt"
	"math"

	"github.com/reel-video/reel/bus/protocol"
)

// LatentChunk returns a copy of latent chunk i, [C, 4, H, W], of a latent
// [C, T, H, W] with C = 8 latent channels (the plane H·W is len(lat)/(8·T),
// so any frame size works). It panics if the latent is not that shape or i
// is out of range, like slice indexing.
func LatentChunk(lat []float32, t, i int) []float32 {
	if t <= 0 || len(lat)%(latentChannels*t) != 0 || i < 0 || (i+1)*latentFrames > t {
		panic(fmt.Sprintf("model: LatentChunk(%d values, T=%d, chunk %d): out of range", len(lat), t, i))
	}
	plane := len(lat) / (latentChannels * t)
	out := make([]float32, latentChannels*latentFrames*plane)
	per := latentFrames * plane
	for c := 0; c < latentChannels; c++ {
		src := lat[(c*t+i*latentFrames)*plane:]
		copy(out[c*per:(c+1)*per], src[:per])
	}
	return out
}

// DecodeChunk decodes one normalised latent chunk [8, 4, h, w] (h, w =
// Config.LatentHeight, LatentWidth; 8×8 for reel-tiny's native 64×64): it
// de-normalises z·std+mean per channel and returns the video chunk
// [3, 16, Height, Width] (values about [−1, 1]). The result depends on this
// chunk only, so chunks may be decoded anywhere, in any order.
func (e *Engine) DecodeChunk(ctx context.Context, chunk []float32) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := e.need(protocol.ModelVAE, "DecodeChunk"); err != nil {
		return nil, err
	}
	if want := e.cfg.LatentSize(framesPerChunk); len(chunk) != want {
		return nil, fmt.Errorf("%w: latent chunk has %d values, want %d", ErrInput, len(chunk), want)
	}
	return e.vae.decode(e.vae.denormalize(chunk), latentFrames), nil
}

// DecodeChunks decodes a normalised latent [8, T, h, w] chunk by chunk
// (exactly as DecodeChunk on each LatentChunk) into [3, 4T, Height, Width].
func (e *Engine) DecodeChunks(ctx context.Context, lat []float32, t int) ([]float32, error) {
	if t <= 0 || t%latentFrames != 0 || len(lat) != latentChannels*t*e.cfg.latentPlane() {
		return nil, fmt.Errorf("%w: latent of %d values is not [8, %d, %d, %d] with T a multiple of %d", ErrInput,
			len(lat), t, e.cfg.LatentHeight(), e.cfg.LatentWidth(), latentFrames)
	}
	frames := t / latentFrames * framesPerChunk
	plane := e.cfg.Height * e.cfg.Width
	out := make([]float32, 3*frames*plane)
	for i := 0; i < t/latentFrames; i++ {
		vid, err := e.DecodeChunk(ctx, LatentChunk(lat, t, i))
		if err != nil {
			return nil, err
		}
		per := framesPerChunk * plane
		for c := 0; c < 3; c++ {
			copy(out[(c*frames+i*framesPerChunk)*plane:], vid[c*per:(c+1)*per])
		}
	}
	return out, nil
}

// DecodeLatent runs the decoder once over a whole normalised latent
// [8, T, h, w] (any T ≥ 1), returning [3, 4T, Height, Width]. Unlike
// DecodeChunks the temporal convolutions see across chunk borders, and
// memory grows with T; it exists to measure what chunking saves.
func (e *Engine) DecodeLatent(ctx context.Context, lat []float32, t int) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := e.need(protocol.ModelVAE, "DecodeLatent"); err != nil {
		return nil, err
	}
	if t <= 0 || len(lat) != latentChannels*t*e.cfg.latentPlane() {
		return nil, fmt.Errorf("%w: latent of %d values is not [8, %d, %d, %d]", ErrInput, len(lat), t,
			e.cfg.LatentHeight(), e.cfg.LatentWidth())
	}
	return e.vae.decode(e.vae.denormalize(lat), t), nil
}

// ToRGB24 converts a video [3, F, H, W] into F frames of H·W RGB pixels,
// frame-major ([F, H, W, 3] bytes): pixel = round((clamp(x,−1,1)+1)·127.5),
// computed in float32 with ties to even as PyTorch's round.
func ToRGB24(vid []float32) []byte {
	n := len(vid) / 3 // F·H·W
	out := make([]byte, 3*n)
	for c := 0; c < 3; c++ {
		for i, x := range vid[c*n : (c+1)*n] {
			if x != x {
				x = -1 // NaN: black rather than an undefined conversion
			}
			x = min(max(x, -1), 1)
			y := (x + 1) * 127.5
			out[3*i+c] = byte(math.RoundToEven(float64(y)))
		}
	}
	return out
}
