package denoise

import (
	"context"
	"fmt"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages"
)

// source sets up an extension or a remix: it reads the parent's latent
// chunks from the stream into p (Prefix or Init) and returns how the
// sampled video's chunks map to the job's: chunk c is the job's c+offset,
// and chunks below skip are not published (the parent's).
func (h *Handler) source(ctx context.Context, d stages.Delivery, src *protocol.Source, p *Params, count int) (offset, skip int, err error) {
	f := h.cfg.FramesPerChunk
	plane := h.cfg.Height * h.cfg.Width
	switch src.Kind {
	case protocol.SourceExtend:
		// The known chunks, then the new ones: (known + count − Chunks)
		// chunks, of which the first known are the parent's last, as
		// many as a window's overlap (at least one).
		known := min(src.Latents, max(p.OverlapFrames/protocol.FramesPerChunk, 1))
		from := src.Chunks - known
		chunks, err := h.parentLatents(ctx, d, src.Job, from, src.Chunks)
		if err != nil {
			return 0, 0, err
		}
		p.Prefix = Join(chunks, h.cfg.Channels, f, plane)
		p.Frames = (known + count - src.Chunks) * protocol.FramesPerChunk
		return from, known, nil
	case protocol.SourceRemix:
		chunks, err := h.parentLatents(ctx, d, src.Job, 0, count)
		if err != nil {
			return 0, 0, err
		}
		p.Init, p.Strength = Join(chunks, h.cfg.Channels, f, plane), src.Strength
		return 0, 0, nil
	}
	return 0, 0, stages.Permanent(&protocol.FieldError{Field: "source.kind", Reason: fmt.Sprintf("%q is unknown", src.Kind)})
}

// parentLatents reads latent chunks [from, to) of job from the stream.
// A chunk that is not there (aged out, or never published) fails the job:
// waiting cannot bring it back.
func (h *Handler) parentLatents(ctx context.Context, d stages.Delivery, job string, from, to int) ([][]float32, error) {
	subjects := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		s := protocol.LatentSubject(job, i)
		ok, err := d.Has(ctx, s)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, stages.Permanent(fmt.Errorf("%w: parent latent %s is not on the stream (aged out of its retention?)", protocol.ErrMissing, s))
		}
		subjects = append(subjects, s)
	}
	fl, err := d.Follow(ctx, subjects)
	if err != nil {
		return nil, err
	}
	defer fl.Stop()
	out := make([][]float32, to-from)
	for got := 0; got < len(out); {
		subj, env, err := fl.Next(ctx)
		if err != nil {
			return nil, fmt.Errorf("parent latent: %w", err)
		}
		var body protocol.LatentBody
		if err := env.DecodeBody(&body); err != nil {
			return nil, fmt.Errorf("%s: %w", subj, err)
		}
		if env.Job != job || env.Chunk < from || env.Chunk >= to {
			return nil, protocol.Malformedf("%s: chunk %d of job %q", subj, env.Chunk, env.Job)
		}
		v, err := body.Latent.Float32s(h.cfg.Channels, h.cfg.FramesPerChunk, h.cfg.Height, h.cfg.Width)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", subj, err)
		}
		if out[env.Chunk-from] == nil {
			got++
		}
		out[env.Chunk-from] = v
	}
	return out, nil
}
