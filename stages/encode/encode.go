// Package encode is the muxing stage. Its consumer is triggered by chunk 0
// of a job's frames (reel.frames.<job>.0); the handler then follows all of
// that job's frame chunks in order with an ordered consumer, feeding the
// video writer (package video) as each next chunk arrives, and stores the
// MP4, poster PNG and GIF in the blobs bucket keyed by job id.
package encode

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/encode/video"
)

// Config holds the stage defaults; a job's settings override FPS, codec,
// CRF and seam blend.
type Config struct {
	Width, Height  int     // frame size (64×64)
	FPS            int     // default fps (8)
	FramesPerChunk int     // 16
	Codec          string  // "" = video default (h264)
	CRF            int     // 0 = video default
	SeamBlend      float64 // 0 = video default, negative = off
	FFmpeg         string  // "" = PATH, "none" = pure Go
	WorkDir        string  // temporary MP4s; default os.TempDir()
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Width <= 0 || c.Height <= 0 || c.FPS <= 0 || c.FramesPerChunk <= 0 {
		return errors.New("encode: frame size, fps and frames per chunk are required")
	}
	return nil
}

// Handler is the stage handler.
type Handler struct{ cfg Config }

// New returns the handler.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.WorkDir == "" {
		cfg.WorkDir = os.TempDir()
	}
	return &Handler{cfg: cfg}, nil
}

func (h *Handler) options(set protocol.Settings) video.Options {
	o := video.Options{Width: h.cfg.Width, Height: h.cfg.Height, FPS: h.cfg.FPS, Codec: h.cfg.Codec,
		CRF: h.cfg.CRF, FFmpeg: h.cfg.FFmpeg, SeamBlend: h.cfg.SeamBlend}
	if set.FPS > 0 {
		o.FPS = set.FPS
	}
	if set.Codec != "" {
		o.Codec = set.Codec
	}
	if set.CRF > 0 {
		o.CRF = set.CRF
	}
	if set.SeamBlend != nil {
		o.SeamBlend = *set.SeamBlend
		if o.SeamBlend == 0 {
			o.SeamBlend = -1 // explicit 0 means off
		}
	}
	return o
}

// Handle assembles the job's chunks in order and muxes them.
func (h *Handler) Handle(ctx context.Context, d *stages.Delivery) error {
	job, set := d.Env.Job, d.Env.Settings
	count := set.Chunks()
	if d.Env.Count != count {
		return protocol.Malformedf("frames chunk count %d, settings say %d", d.Env.Count, count)
	}
	opts := h.options(set)
	dir, err := os.MkdirTemp(h.cfg.WorkDir, "reel-encode-"+job+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, job+".mp4")
	w, err := video.NewWriter(ctx, path, opts, d.Log)
	if err != nil {
		return stages.Permanent(err)
	}
	closed := false
	defer func() {
		if !closed {
			w.Abort()
		}
	}()

	hash, err := h.feed(ctx, d, w, job, count)
	if err != nil {
		return err
	}
	res, err := w.Close()
	closed = true
	if err != nil {
		return fmt.Errorf("finish video: %w", err)
	}
	mp4, err := os.ReadFile(res.Path)
	if err != nil {
		return err
	}
	info := protocol.VideoInfo{
		Object: protocol.VideoObject(job), Encoder: res.Encoder, FallbackReason: res.FallbackReason,
		Frames: res.Frames, FPS: opts.FPS, Width: opts.Width, Height: opts.Height, Bytes: len(mp4),
		Seconds: res.Duration.Seconds(), FramesSHA256: hash,
	}
	b := d.Bus()
	meta := map[string]string{"job": job, "encoder": res.Encoder}
	if err := b.PutBlob(ctx, info.Object, mp4, meta); err != nil {
		return fmt.Errorf("store video: %w", err)
	}
	if len(res.Poster) > 0 {
		info.Poster = protocol.PosterObject(job)
		if err := b.PutBlob(ctx, info.Poster, res.Poster, meta); err != nil {
			return fmt.Errorf("store poster: %w", err)
		}
	}
	if len(res.GIF) > 0 {
		info.GIF = protocol.GIFObject(job)
		if err := b.PutBlob(ctx, info.GIF, res.GIF, meta); err != nil {
			return fmt.Errorf("store gif: %w", err)
		}
	}
	env := &protocol.Envelope{}
	if err := env.SetBody(protocol.VideoBody{Video: info}); err != nil {
		return err
	}
	if err := d.Publish(ctx, protocol.VideoSubject(job), env); err != nil {
		return err
	}
	if res.FallbackReason != "" {
		// The video library already warned once, with ffmpeg's error; this
		// line only records the outcome.
		d.Log.Info().Str("reason", res.FallbackReason).Msg("encoded with the pure-Go encoder")
	}
	d.Report(ctx, protocol.Event{Kind: protocol.EventSucceeded, Video: &info})
	return nil
}

// feed reads the job's frame chunks as they arrive and writes them in order;
// it returns the SHA-256 of all frames (before the seam blend).
func (h *Handler) feed(ctx context.Context, d *stages.Delivery, w *video.Writer, job string, count int) (string, error) {
	b := d.Bus()
	cons, err := b.JS.OrderedConsumer(ctx, protocol.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{protocol.FramesFilter(job)},
	})
	if err != nil {
		return "", fmt.Errorf("follow frames of %s: %w", job, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return "", err
	}
	defer it.Stop()
	chunkSize := h.cfg.FramesPerChunk * h.cfg.Width * h.cfg.Height * 3
	pending := map[int][]byte{}
	sum := sha256.New()
	for next := 0; next < count; {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return "", context.Cause(ctx)
			}
			return "", fmt.Errorf("frames of %s: %w", job, err)
		}
		env, err := b.Decode(ctx, m.Data())
		if err != nil {
			return "", fmt.Errorf("%s: %w", m.Subject(), err)
		}
		if env.Job != job || env.Chunk < 0 || env.Chunk >= count || env.Count != count {
			return "", protocol.Malformedf("%s: chunk %d of %d for job %q", m.Subject(), env.Chunk, env.Count, env.Job)
		}
		if s, err := protocol.ParseSubject(m.Subject()); err != nil || s.Chunk != env.Chunk {
			// Taken as another chunk, it would leave its own missing forever.
			return "", protocol.Malformedf("%s: envelope names chunk %d", m.Subject(), env.Chunk)
		}
		if env.Chunk < next || pending[env.Chunk] != nil {
			continue // duplicate (write-once subjects make this rare)
		}
		var body protocol.FramesBody
		if err := env.DecodeBody(&body); err != nil {
			return "", err
		}
		px, err := body.Frames.Bytes(h.cfg.FramesPerChunk, h.cfg.Height, h.cfg.Width, 3)
		if err != nil || len(px) != chunkSize {
			return "", fmt.Errorf("%s: %w", m.Subject(), err)
		}
		pending[env.Chunk] = px
		for pending[next] != nil {
			px := pending[next]
			delete(pending, next)
			sum.Write(px)
			if err := w.WriteChunk(px); err != nil {
				return "", fmt.Errorf("mux chunk %d: %w", next, err)
			}
			d.Report(ctx, protocol.Event{Kind: protocol.EventChunk, Chunk: next, Count: count})
			next++
		}
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}
