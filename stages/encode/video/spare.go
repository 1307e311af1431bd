package video

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Spare is an ffmpeg started before the job that will use it.
//
// NewWriter starts ffmpeg when a job's first chunk arrives, and ffmpeg
// takes 60–500 ms to become ready (it maps some 200 shared libraries, and
// its start competes with the decode of the next chunks for the CPUs): on
// reel-tiny that is often longer than the decode of the remaining chunks,
// so the job's last step waited for it. A spare has started long before and
// waits on its stdin, costing a process and nothing else, until a Writer
// whose options give the same ffmpeg command line takes it (NewSpareWriter).
//
// A spare nobody takes kills itself after its idle time; Close kills it
// sooner. Both are safe to race with a Writer taking it: exactly one wins.
type Spare struct {
	args []string // ffmpeg's command line but the output
	p    *ffmpegProc
	stop context.CancelFunc // kills p (exec.CommandContext) while no job owns it

	mu    sync.Mutex
	taken bool // by a Writer, or ended by Close/idle
	idle  *time.Timer
}

// ErrSpareMismatch is returned by NewSpareWriter when the spare's ffmpeg
// was started for other options; the spare is left as it was.
var ErrSpareMismatch = errors.New("video: the spare ffmpeg was started for other options")

// StartSpare starts ffmpeg for opts, to write its MP4 in dir once used,
// under a name made from pattern as os.CreateTemp does (so that the caller
// can recognise what a killed process left). It returns an error when
// ffmpeg is disabled (FFmpeg "none") or cannot be started; the caller then
// simply has no spare.
func StartSpare(opts Options, dir, pattern string, idle time.Duration) (*Spare, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	bin, err := resolveFFmpeg(o.FFmpeg)
	if err != nil {
		return nil, err
	}
	out, err := spareOutput(dir, pattern)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	p, err := startFFmpeg(ctx, bin, o, out)
	if err != nil {
		stop()
		return nil, err
	}
	s := &Spare{args: spareKey(bin, o), p: p, stop: stop}
	s.idle = time.AfterFunc(idle, s.Close)
	return s, nil
}

// spareOutput is a fresh name in dir for a spare's MP4. ffmpeg creates the
// file only once it has input, so an unused spare leaves nothing behind.
func spareOutput(dir, pattern string) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	name := f.Name()
	_ = f.Close()
	_ = os.Remove(name) // ffmpeg (-y) creates it again when it writes
	return name, nil
}

// spareKey is what must match between a spare and a Writer: the binary and
// the command line with the output name left out.
func spareKey(bin string, o Options) []string {
	return append([]string{bin}, ffmpegArgs(o, "")...)
}

// take hands the process to a Writer whose options give key, or reports
// why not.
func (s *Spare) take(key []string) (*ffmpegProc, context.CancelFunc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taken {
		return nil, nil, errors.New("video: the spare ffmpeg was already used or closed")
	}
	if !slices.Equal(s.args, key) {
		return nil, nil, ErrSpareMismatch
	}
	select {
	case <-s.p.done:
		return nil, nil, errors.New("video: the spare ffmpeg exited while waiting")
	default:
	}
	s.taken = true
	s.idle.Stop()
	return s.p, s.stop, nil
}

// Close kills the spare unless a Writer took it; it does nothing then.
func (s *Spare) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taken {
		return
	}
	s.taken = true
	s.idle.Stop()
	s.p.kill()
	s.stop()
	_ = os.Remove(s.p.out)
}

// NewSpareWriter is NewWriter with the ffmpeg of spare, already started,
// instead of a new one; ctx then bounds that process as it does the one
// NewWriter starts. It returns ErrSpareMismatch (or another error saying
// why the spare is unusable) without consuming the spare when it cannot be
// used, so the caller can fall back to NewWriter.
//
// The spare's MP4 is renamed to path at Close, so dir (StartSpare) and
// path must be on one file system; if not, the writer falls back to the
// pure-Go encoder with a warning, as for any ffmpeg failure.
func NewSpareWriter(ctx context.Context, path string, opts Options, spare *Spare, log zerolog.Logger) (*Writer, error) {
	w, err := newWriter(ctx, path, opts, log)
	if err != nil {
		return nil, err
	}
	bin, err := resolveFFmpeg(w.opts.FFmpeg)
	if err != nil {
		return nil, err
	}
	p, stop, err := spare.take(spareKey(bin, w.opts))
	if err != nil {
		return nil, err
	}
	w.ff = p
	// The job's context now bounds the process, as exec.CommandContext
	// does for the one NewWriter starts.
	unhook := context.AfterFunc(ctx, stop)
	w.release = func() { unhook(); stop() }
	return w, nil
}
