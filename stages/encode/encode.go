// Package encode is the muxing stage. Its consumer is triggered by chunk 0
// of a job's frames (reel.frames.<job>.0); the handler then follows all of
// that job's frame chunks in order with an ordered consumer, feeding the
// video writer (package video) as each next chunk arrives, and stores the
// MP4, poster PNG and GIF in the blobs bucket keyed by job id.
package encode

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/mem"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/encode/video"
)

// Config holds the stage defaults; a job's settings override FPS, codec,
// CRF and seam blend. The frame geometry comes from the frames themselves
// (each chunk's tensor is [frames, height, width, 3]); set it to refuse
// chunks of another size.
type Config struct {
	Width, Height  int     // frame size; 0 = from the first chunk
	FramesPerChunk int     // 0 = from the first chunk
	FPS            int     // fps of jobs whose settings name none (0: the settings must)
	Codec          string  // "" = video default (h264)
	CRF            int     // 0 = video default
	SeamBlend      float64 // 0 = video default, negative = off
	FFmpeg         string  // "" = PATH, "none" = pure Go
	WorkDir        string  // temporary MP4s; default os.TempDir()
	// ChunkWait bounds the wait for a job's next frames chunk; past it the
	// job fails naming the chunks that never came (a lost or forged
	// message must not hold a slot forever). Default DefaultChunkWait; the
	// job's deadline, when earlier, bounds it too.
	ChunkWait time.Duration
	// ExpectWidth, ExpectHeight and ExpectFramesPerChunk are the frame
	// size and chunk length the first job will likely have (the served
	// model's), so that its ffmpeg can be started ahead of it (see spares);
	// a size of 0 = not known, no spare before a job. Unlike Width, Height
	// and FramesPerChunk, they refuse nothing.
	ExpectWidth, ExpectHeight, ExpectFramesPerChunk int
}

// DefaultChunkWait is the default of Config.ChunkWait: long enough for a
// chunk held by a frozen vaedecode worker to be redelivered (AckWait, 30 s
// by default, times a few deliveries) and decoded behind a backlog.
const DefaultChunkWait = 10 * time.Minute

// SlotsPerWorker is how many encode slots one unit of --concurrency opens.
// An encode slot spends most of its time waiting for the next chunk; with
// one slot per process, a job whose chunk is held by a frozen worker would
// delay every finished job behind it by AckWait (head-of-line blocking).
// Waiting slots cost a goroutine, an ordered consumer and an idle muxer, so
// a bounded handful of them keeps finished jobs flowing past stuck ones.
const SlotsPerWorker = 8

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Width < 0 || c.Height < 0 || c.FPS < 0 || c.FramesPerChunk < 0 || c.ChunkWait < 0 || c.ExpectFramesPerChunk < 0 {
		return errors.New("encode: frame size, fps, frames per chunk and chunk wait cannot be negative")
	}
	return nil
}

// Descriptor declares the stage.
func Descriptor() stages.Descriptor {
	spec, _ := protocol.Spec(protocol.StageEncode)
	return stages.Descriptor{StageSpec: spec, New: newFromDeps, ReplaySettings: protocol.OutputSettings(),
		Estimate: func(e mem.Estimator, m protocol.Manifest, s protocol.Settings) mem.Estimate {
			return e.Encode(m, s.Frames)
		},
		SlotsPerWorker: SlotsPerWorker}
}

func newFromDeps(d stages.Deps) (stages.Handler, error) {
	o := d.Output
	fps := o.FPS
	if fps == 0 {
		fps = d.Manifest.FPS // zero without an engine: jobs carry their fps (textenc resolves it)
	}
	return New(Config{FPS: fps, Codec: o.Codec,
		CRF: o.CRF, SeamBlend: o.SeamBlend, FFmpeg: o.FFmpeg, WorkDir: o.WorkDir, ChunkWait: o.ChunkWait,
		ExpectWidth: d.Manifest.Width, ExpectHeight: d.Manifest.Height, ExpectFramesPerChunk: d.Manifest.FramesPerChunk})
}

// Handler is the stage handler.
type Handler struct {
	cfg    Config
	spares *spares
}

// New returns the handler.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.WorkDir == "" {
		cfg.WorkDir = os.TempDir()
	}
	if cfg.ChunkWait == 0 {
		cfg.ChunkWait = DefaultChunkWait
	}
	removeStale(cfg.WorkDir)
	h := &Handler{cfg: cfg, spares: &spares{dir: cfg.WorkDir}}
	if cfg.ExpectWidth > 0 && cfg.ExpectHeight > 0 && cfg.FPS > 0 {
		o := h.options(protocol.Settings{})
		o.Width, o.Height, o.ChunkFrames = cfg.ExpectWidth, cfg.ExpectHeight, cfg.ExpectFramesPerChunk
		go h.spares.start(o)
	}
	return h, nil
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
func (h *Handler) Handle(ctx context.Context, d stages.Delivery) error {
	first := d.Envelope()
	job, set := first.Job, first.Settings
	count := set.Chunks()
	if first.Count != count {
		return protocol.Malformedf("frames chunk count %d, settings say %d", first.Count, count)
	}
	var body0 protocol.FramesBody
	if err := first.DecodeBody(&body0); err != nil {
		return err
	}
	g, err := h.geometry(body0.Frames.Shape)
	if err != nil {
		return fmt.Errorf("%s: %w", d.Subject(), err)
	}
	opts := h.options(set)
	opts.Width, opts.Height, opts.ChunkFrames = g.width, g.height, g.frames
	if opts.FPS <= 0 {
		return stages.Permanent(&protocol.FieldError{Field: "fps", Reason: "the job names none and this encode stage has no default (--fps)"})
	}
	dir, err := os.MkdirTemp(h.cfg.WorkDir, workPrefix(os.Getpid())+job+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, job+".mp4")
	w, err := h.spares.writer(ctx, path, opts, *d.Log())
	if err != nil {
		return stages.Permanent(err)
	}
	defer h.spares.startLater(opts)
	closed := false
	defer func() {
		if !closed {
			w.Abort()
		}
	}()

	hash, err := h.feed(ctx, d, w, g, job, count)
	if err != nil {
		return err
	}
	res, err := w.Close()
	closed = true
	if err != nil {
		return fmt.Errorf("finish video: %w", err)
	}
	info := protocol.VideoInfo{
		Object: protocol.VideoObject(job), Encoder: res.Encoder, FallbackReason: res.FallbackReason,
		Frames: res.Frames, FPS: opts.FPS, Width: opts.Width, Height: opts.Height,
		Seconds: res.Duration.Seconds(), FramesSHA256: hash,
	}
	meta := map[string]string{"job": job, "encoder": res.Encoder}
	if info.Bytes, info.SHA256, err = storeFile(ctx, d, info.Object, res.Path, meta); err != nil {
		return fmt.Errorf("store video: %w", err)
	}
	if len(res.Poster) > 0 {
		info.Poster = protocol.PosterObject(job)
		if err := d.PutBlob(ctx, info.Poster, bytes.NewReader(res.Poster), meta); err != nil {
			return fmt.Errorf("store poster: %w", err)
		}
	}
	if len(res.GIF) > 0 {
		info.GIF = protocol.GIFObject(job)
		if err := d.PutBlob(ctx, info.GIF, bytes.NewReader(res.GIF), meta); err != nil {
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
		d.Log().Info().Str("reason", res.FallbackReason).Msg("encoded with the pure-Go encoder")
	}
	d.Report(ctx, protocol.Event{Kind: protocol.EventSucceeded, Video: &info})
	return nil
}

// geometry is the frame size of a job's chunks.
type geometry struct{ frames, height, width int }

// geometry takes the chunk geometry from chunk 0's tensor shape
// [frames, height, width, 3], checked against what the stage was
// configured with.
func (h *Handler) geometry(shape []int) (geometry, error) {
	if len(shape) != 4 || shape[3] != 3 {
		return geometry{}, protocol.Malformedf("frames tensor shape %v, want [frames, height, width, 3]", shape)
	}
	g := geometry{shape[0], shape[1], shape[2]}
	for _, c := range []struct {
		name      string
		got, want int
	}{{"frames per chunk", g.frames, h.cfg.FramesPerChunk}, {"height", g.height, h.cfg.Height}, {"width", g.width, h.cfg.Width}} {
		if c.got <= 0 {
			return geometry{}, protocol.Malformedf("frames tensor shape %v: %s %d", shape, c.name, c.got)
		}
		if c.want > 0 && c.got != c.want {
			return geometry{}, protocol.Malformedf("frames tensor shape %v: %s %d, this stage encodes %d", shape, c.name, c.got, c.want)
		}
	}
	return g, nil
}

// storeFile streams the file at path into the blobs bucket and returns its
// size and SHA-256 (hashed while it streams).
func storeFile(ctx context.Context, d stages.Delivery, name, path string, meta map[string]string) (int, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	cr := &countingReader{r: io.TeeReader(f, h)}
	if err := d.PutBlob(ctx, name, cr, meta); err != nil {
		return 0, "", err
	}
	return cr.n, hex.EncodeToString(h.Sum(nil)), nil
}

// countingReader counts what was read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// feed writes the job's frame chunks in order, starting from the delivered
// chunk 0 and following the others as they arrive; it returns the SHA-256
// of all frames (before the seam blend).
func (h *Handler) feed(ctx context.Context, d stages.Delivery, w *video.Writer, g geometry, job string, count int) (string, error) {
	pending := map[int][]byte{}
	sum := sha256.New()
	next := 0
	take := func(subject string, env *protocol.Envelope) error {
		if env.Job != job || env.Chunk < 0 || env.Chunk >= count || env.Count != count {
			return protocol.Malformedf("%s: chunk %d of %d for job %q", subject, env.Chunk, env.Count, env.Job)
		}
		if s, err := protocol.ParseSubject(subject); err != nil || s.Chunk != env.Chunk {
			// Taken as another chunk, it would leave its own missing forever.
			return protocol.Malformedf("%s: envelope names chunk %d", subject, env.Chunk)
		}
		if env.Chunk < next || pending[env.Chunk] != nil {
			return nil // duplicate (write-once subjects make this rare)
		}
		var body protocol.FramesBody
		if err := env.DecodeBody(&body); err != nil {
			return err
		}
		px, err := body.Frames.Bytes(g.frames, g.height, g.width, 3)
		if err != nil {
			return fmt.Errorf("%s: %w", subject, err)
		}
		pending[env.Chunk] = px
		for pending[next] != nil {
			px := pending[next]
			delete(pending, next)
			sum.Write(px)
			if err := w.WriteChunk(px); err != nil {
				return fmt.Errorf("mux chunk %d: %w", next, err)
			}
			d.Report(ctx, protocol.Event{Kind: protocol.EventChunk, Chunk: next, Count: count})
			next++
		}
		return nil
	}
	if err := take(d.Subject(), d.Envelope()); err != nil {
		return "", err
	}
	if count > 1 {
		rest := make([]string, 0, count-1)
		for i := 1; i < count; i++ {
			rest = append(rest, protocol.FramesSubject(job, i))
		}
		f, err := d.Follow(ctx, rest)
		if err != nil {
			return "", fmt.Errorf("follow frames of %s: %w", job, err)
		}
		defer f.Stop()
		for next < count {
			subject, env, err := h.next(ctx, f)
			if errors.Is(err, errChunkWait) {
				return "", stages.Permanent(fmt.Errorf("frames chunks %s of %d did not arrive within %s",
					missing(next, pending, count), count, h.cfg.ChunkWait))
			}
			if err != nil {
				return "", fmt.Errorf("frames of %s: %w", job, err)
			}
			if err := take(subject, env); err != nil {
				return "", err
			}
		}
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}
