package encode

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/reel-video/reel/stages/encode/video"
	"github.com/rs/zerolog"
)

// spareIdle is how long a spare ffmpeg waits for a job before it ends
// itself, so an idle stage does not hold a process forever.
const spareIdle = 2 * time.Minute

// spareAfter is how long after a job the next spare starts: a process that
// is about to exit (reel generate) then does not start one in vain while it
// shuts down.
const spareAfter = time.Second

// spares keeps at most one ffmpeg started ahead of the next job (see
// video.Spare): the first from the handler's expected geometry, each later
// one with the options of the job before it, the likeliest next ones.
type spares struct {
	dir string

	mu    sync.Mutex
	spare *video.Spare // nil: none waiting
}

// writer returns a video writer for the job, on the waiting spare when its
// options match and on a new ffmpeg otherwise.
func (s *spares) writer(ctx context.Context, path string, o video.Options, log zerolog.Logger) (*video.Writer, error) {
	s.mu.Lock()
	sp := s.spare
	s.spare = nil
	s.mu.Unlock()
	if sp != nil {
		w, err := video.NewSpareWriter(ctx, path, o, sp, log)
		if err == nil {
			log.Debug().Msg("encode: on the spare ffmpeg")
			return w, nil
		}
		// Another job's options, or it ended idle: the next spare is
		// started for this job's options.
		sp.Close()
	}
	return video.NewWriter(ctx, path, o, log)
}

// start starts a spare for o unless one is waiting. Failing to start one
// (no ffmpeg, FFmpeg "none") leaves none: the job's own writer says why.
func (s *spares) start(o video.Options) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spare != nil {
		return
	}
	// Named like the jobs' work directories, so that removeStale clears
	// what a killed process's spare was writing.
	pattern := workPrefix(os.Getpid()) + "spare-*.mp4-partial"
	if sp, err := video.StartSpare(o, s.dir, pattern, spareIdle); err == nil {
		s.spare = sp
	}
}

// startLater starts a spare for o after spareAfter.
func (s *spares) startLater(o video.Options) {
	time.AfterFunc(spareAfter, func() { s.start(o) })
}
