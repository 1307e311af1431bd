package video

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Encoder names reported in Result.Encoder.
const (
	EncoderFFmpeg = "ffmpeg"
	EncoderPureGo = "purego"
)

// Result describes a finished video.
type Result struct {
	Path     string
	Encoder  string // EncoderFFmpeg or EncoderPureGo
	Frames   int
	Duration time.Duration
	Poster   []byte // PNG of the first frame
	GIF      []byte // animated preview
	// FallbackReason says why the pure-Go encoder was used when ffmpeg was
	// wanted (missing, failed to start, failed mid-stream); "" otherwise,
	// including when FFmpeg was "none".
	FallbackReason string
}

// Writer encodes one job's frames, chunk by chunk, into an MP4 at path.
//
// Frames go to ffmpeg as chunks arrive; every frame is also kept (after the
// seam blend) because they are small — 12 KiB each for reel-tiny — and that
// is what lets a failing ffmpeg degrade to the pure-Go encoder with the whole
// video. The previews are built as frames arrive too (see previews), so
// that Close only has their last, per-colour step left, which it runs while
// ffmpeg finishes the MP4.
//
// WriteChunk and Close are meant to be called from one goroutine; Abort may
// be called from any goroutine at any time.
type Writer struct {
	ctx  context.Context
	path string
	opts Options
	log  zerolog.Logger

	mu       sync.Mutex // serialises WriteChunk, Close and Abort's cleanup
	frames   [][]byte   // emitted frames, RGB24
	prev     *previews  // poster and GIF, fed by emit
	pending  []byte     // last frame of the previous chunk, held for the seam blend
	fallback string     // why the pure-Go path is used ("" while ffmpeg is fine)
	finished bool       // Close or Abort ran

	procMu  sync.Mutex  // guards ff so Abort can kill it without waiting for mu
	ff      *ffmpegProc // nil on the pure-Go path
	aborted atomic.Bool // set first thing in Abort: its kill is not an ffmpeg failure
	release func()      // a spare's (NewSpareWriter) ties to ctx, undone when the writer ends; under mu
}

// ErrAborted is returned by a WriteChunk or Close that Abort interrupted.
var ErrAborted = errors.New("video: writer aborted")

// NewWriter validates opts and, unless ffmpeg is unavailable or disabled,
// starts ffmpeg right away so encoding overlaps generation. A missing ffmpeg
// is not an error: the writer uses the pure-Go encoder and says why.
// ctx bounds the job: cancelling it kills ffmpeg.
func NewWriter(ctx context.Context, path string, opts Options, log zerolog.Logger) (*Writer, error) {
	w, err := newWriter(ctx, path, opts, log)
	if err != nil {
		return nil, err
	}
	o := w.opts
	if o.FFmpeg == "none" {
		log.Info().Str("path", path).Msg("video: ffmpeg disabled, using the pure-Go H.264 (I_PCM) encoder")
		return w, nil
	}
	bin, err := resolveFFmpeg(o.FFmpeg)
	if err == nil {
		var p *ffmpegProc
		p, err = startFFmpeg(ctx, bin, o, w.ffmpegTemp())
		w.ff = p
	}
	if err != nil {
		w.degrade(err)
	}
	return w, nil
}

// newWriter validates the arguments and returns a writer with no encoder
// process yet.
func newWriter(ctx context.Context, path string, opts Options, log zerolog.Logger) (*Writer, error) {
	if path == "" {
		return nil, errors.New("video: empty output path")
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &Writer{ctx: ctx, path: path, opts: o, log: log, prev: newPreviews(o.Width, o.Height)}, nil
}

// ffmpegTemp is where ffmpeg writes; it is renamed to path on success so a
// reader never sees half a file at path.
func (w *Writer) ffmpegTemp() string { return w.path + ".ffmpeg-partial" }

// pureGoTemp is the pure-Go encoder's temporary output.
func (w *Writer) pureGoTemp() string { return w.path + ".purego-partial" }

// WriteChunk takes one decoded chunk of RGB24 frames (Width*Height*3 bytes
// each), chunks in order. Call it once per model chunk: the seam blend goes
// between calls. The bytes are copied; the caller may reuse frames. Errors
// are cancellation, Abort or a malformed chunk — never an ffmpeg failure,
// which switches to the pure-Go encoder instead.
func (w *Writer) WriteChunk(frames []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.interrupted(); err != nil {
		return err
	}
	if w.finished {
		return errors.New("video: write after Close")
	}
	fs := w.opts.frameSize()
	if len(frames) == 0 || len(frames)%fs != 0 {
		return fmt.Errorf("video: chunk of %d bytes is not a whole number of %dx%d RGB24 frames", len(frames), w.opts.Width, w.opts.Height)
	}
	buf := make([]byte, len(frames))
	copy(buf, frames)
	n := len(buf) / fs
	chunk := make([][]byte, n)
	for i := range chunk {
		chunk[i] = buf[i*fs : (i+1)*fs : (i+1)*fs]
	}
	var err error
	if w.opts.SeamBlend <= 0 {
		err = w.emit(chunk...)
	} else {
		// The last frame waits for the next chunk's first frame.
		if w.pending != nil {
			BlendSeam(w.pending, chunk[0], w.opts.SeamBlend)
			chunk = append([][]byte{w.pending}, chunk...)
		}
		w.pending = chunk[len(chunk)-1]
		err = w.emit(chunk[:len(chunk)-1]...)
	}
	if err != nil {
		return err
	}
	if p := w.proc(); p != nil {
		if err := p.flush(); err != nil {
			return w.ffmpegFailed(err)
		}
	}
	return nil
}

// emit records frames and feeds them to ffmpeg while it is alive. The only
// error is cancellation; an ffmpeg failure switches to the pure-Go path.
func (w *Writer) emit(frames ...[]byte) error {
	w.frames = append(w.frames, frames...)
	for _, f := range frames {
		w.prev.add(f)
	}
	p := w.proc()
	if p == nil {
		return nil
	}
	for _, f := range frames {
		if err := p.write(f); err != nil {
			return w.ffmpegFailed(err)
		}
	}
	return nil
}

// ffmpegFailed handles an ffmpeg error while writing: a cancelled job is an
// error for the caller; anything else degrades to the pure-Go encoder.
func (w *Writer) ffmpegFailed(err error) error {
	p := w.takeProc()
	if p == nil {
		return nil
	}
	p.kill()
	_ = os.Remove(p.out)
	if cerr := w.interrupted(); cerr != nil {
		return cerr
	}
	// Wait's error carries the exit status and stderr; prefer it to EPIPE.
	if werr := p.wait(); werr != nil {
		err = werr
	} else {
		err = p.describe(err)
	}
	w.degrade(err)
	return nil
}

// interrupted says why the job stopped, if it was stopped on purpose:
// cancellation or Abort. Those end the job; they are not ffmpeg failures.
func (w *Writer) interrupted() error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if w.aborted.Load() {
		return ErrAborted
	}
	return nil
}

// degrade switches to the pure-Go encoder with exactly one warning.
func (w *Writer) degrade(err error) {
	if w.fallback != "" {
		return
	}
	w.fallback = err.Error()
	w.log.Warn().Err(err).Str("path", w.path).
		Msg("video: ffmpeg unavailable or failed; falling back to the pure-Go H.264 (I_PCM) encoder")
}

func (w *Writer) proc() *ffmpegProc {
	w.procMu.Lock()
	defer w.procMu.Unlock()
	return w.ff
}

func (w *Writer) takeProc() *ffmpegProc {
	w.procMu.Lock()
	defer w.procMu.Unlock()
	p := w.ff
	w.ff = nil
	return p
}

// Close flushes the held-back frame, finishes the MP4 at path and makes the
// previews. If ffmpeg fails here the pure-Go encoder writes the file instead.
// On error nothing is left at path's temporary names.
//
// ffmpeg's input is closed first, so that x264 encodes the frames its
// lookahead still holds and the MP4 is written while this goroutine makes
// the GIF: the two overlap rather than add up.
func (w *Writer) Close() (Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finished {
		return Result{}, errors.New("video: Close after Close/Abort")
	}
	w.finished = true
	defer w.unhook()
	if err := w.interrupted(); err != nil {
		w.cleanup()
		return Result{}, err
	}
	if w.pending != nil {
		err := w.emit(w.pending)
		w.pending = nil
		if err != nil {
			w.cleanup()
			return Result{}, err
		}
	}
	if len(w.frames) == 0 {
		w.cleanup()
		return Result{}, errors.New("video: no frames written")
	}
	res := Result{
		Path:     w.path,
		Frames:   len(w.frames),
		Duration: time.Duration(len(w.frames)) * time.Second / time.Duration(w.opts.FPS),
	}
	if p := w.proc(); p != nil {
		p.endInput()
	}
	var perr error
	res.Poster, res.GIF, perr = w.prev.finish(w.frames, w.opts.FPS)
	used, err := w.finishFFmpeg()
	if err != nil {
		w.cleanup()
		return Result{}, err
	}
	if used {
		res.Encoder = EncoderFFmpeg
	} else {
		if err := w.writePureGo(); err != nil {
			w.cleanup()
			return Result{}, err
		}
		res.Encoder = EncoderPureGo
		res.FallbackReason = w.fallback
	}
	if perr != nil {
		return res, fmt.Errorf("video: previews: %w", perr)
	}
	return res, nil
}

// finishFFmpeg closes ffmpeg's input and moves its output to path; used
// reports whether that worked. An ffmpeg failure degrades (used=false, nil
// error); only cancellation is an error.
func (w *Writer) finishFFmpeg() (used bool, err error) {
	p := w.proc() // left in place while finishing so Abort can still kill it
	if p == nil {
		return false, nil
	}
	err = p.finish()
	w.takeProc()
	if err == nil {
		// Exit status 0 with no output would be an ffmpeg bug, but a job
		// must not hand out an empty file.
		if st, serr := os.Stat(p.out); serr != nil {
			err = serr
		} else if st.Size() == 0 {
			err = errors.New("ffmpeg exited 0 but wrote an empty file")
		}
	}
	if err == nil {
		err = os.Rename(p.out, w.path)
	}
	if err == nil {
		return true, nil
	}
	_ = os.Remove(p.out)
	if cerr := w.interrupted(); cerr != nil {
		return false, cerr
	}
	w.degrade(err)
	return false, nil
}

// writePureGo encodes every kept frame with the I_PCM encoder.
func (w *Writer) writePureGo() error {
	tmp := w.pureGoTemp()
	if err := writePCMFile(tmp, w.frames, w.opts); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("video: pure-Go encoder: %w", err)
	}
	if err := os.Rename(tmp, w.path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// Abort kills ffmpeg, waits for it, and removes partial output. It is safe
// from any goroutine and a no-op after a successful Close, so callers can
// `defer w.Abort()`.
func (w *Writer) Abort() {
	// Kill first, without mu: WriteChunk may be blocked writing to ffmpeg.
	w.aborted.Store(true)
	if p := w.takeProc(); p != nil {
		p.kill()
		_ = os.Remove(p.out)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finished {
		return
	}
	w.finished = true
	w.cleanup()
	w.unhook()
}

// unhook undoes a spare's tie to the job's context once the writer has
// ended and its ffmpeg has been reaped.
func (w *Writer) unhook() {
	if w.release != nil {
		w.release()
		w.release = nil
	}
}

// cleanup kills ffmpeg if still running and removes temporary files. The
// file at path is only ever created by a rename at the end of Close, so
// there is nothing partial there to remove.
func (w *Writer) cleanup() {
	if p := w.takeProc(); p != nil {
		p.kill()
		_ = os.Remove(p.out) // a spare's output is not at ffmpegTemp
	}
	_ = os.Remove(w.ffmpegTemp())
	_ = os.Remove(w.pureGoTemp())
	w.frames = nil
	w.pending = nil
	w.prev = nil
}
