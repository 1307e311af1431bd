package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
)

// IdempotencyHeader is honoured on every call that makes a video (create,
// remix, extension, replay): the same key (per owner) within
// IdempotencyTTL returns the video the first request made.
const IdempotencyHeader = "Idempotency-Key"

// recordWait bounds how long a call that makes a video waits for the new
// job's record: the record is a projection of the job's first messages, it
// appears a moment after the publish.
const recordWait = 5 * time.Second

// startFunc starts a new job under id and returns the job as submitted
// (what the answer shows while its record is not there yet).
type startFunc func(ctx context.Context, id string) (*orchestrator.Job, error)

// newVideo makes a video for the caller: under its Idempotency-Key (a key
// seen before answers with the video it named, start is not called), owned
// by the caller's key before the job exists (so it is never visible to
// others), started by start, answered with the new video object. what
// names the call in the log ("created", "remixed", ...).
func (s *Server) newVideo(w http.ResponseWriter, r *http.Request, what string, start startFunc) (err error) {
	ctx := r.Context()
	owner := ownerOf(ctx)
	id := orchestrator.NewJobID(time.Now())
	if idem := r.Header.Get(IdempotencyHeader); idem != "" {
		scoped := owner + "\x00" + idem
		got, fresh, cerr := s.cfg.Backend.Claim(ctx, scoped, id)
		if cerr != nil {
			return cerr
		}
		if !fresh {
			j, oerr := s.owned(ctx, got)
			if errors.Is(oerr, ErrNotFound) {
				return newError(http.StatusConflict, typeInvalidRequest, "idempotency_conflict",
					"a request with this Idempotency-Key is still being processed; retry")
			}
			if oerr != nil {
				return oerr
			}
			w.Header().Set("Idempotent-Replayed", "true")
			writeJSON(w, http.StatusOK, s.video(j))
			return nil
		}
		defer func() { // err is the named result: any failure from here on
			if err != nil {
				_ = s.cfg.Backend.Release(context.WithoutCancel(ctx), scoped)
			}
		}()
	}
	if err = s.cfg.Backend.SetOwner(ctx, id, owner); err != nil {
		return err
	}
	submitted, err := start(ctx, id)
	if err != nil {
		_ = s.cfg.Backend.Forget(context.WithoutCancel(ctx), id)
		return err
	}
	j, err := s.recorded(ctx, submitted)
	if err != nil {
		return err
	}
	s.cfg.Log.Info().Str("job", j.ID).Str("owner", owner).Str("parent", j.Parent).Int("frames", j.Settings.Frames).Msg("api: video " + what)
	writeJSON(w, http.StatusOK, s.video(j))
	return nil
}

// queuedJob is a new job as submitted, before any stage ran.
func queuedJob(id string, req protocol.Request, set protocol.Settings) *orchestrator.Job {
	now := time.Now().UTC()
	return &orchestrator.Job{ID: id, Prompt: req.Prompt, Negative: req.Negative, Settings: set,
		State: protocol.StateQueued, Created: now, Updated: now}
}

// recorded returns the new job's record once it is there and names its
// parent, so that the client's first retrieve finds it as answered (the
// projector may fold a linked job's prompt before the event that links
// it); past recordWait it answers with the job as submitted.
func (s *Server) recorded(ctx context.Context, submitted *orchestrator.Job) (*orchestrator.Job, error) {
	deadline := time.Now().Add(recordWait)
	for delay := 5 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		j, err := s.cfg.Backend.Job(ctx, submitted.ID)
		if err != nil && !errors.Is(err, orchestrator.ErrNotFound) {
			return nil, err
		}
		if err == nil && j.Parent == submitted.Parent {
			return j, nil
		}
		if time.Now().After(deadline) {
			if j != nil {
				j.Parent, j.RemixOf, j.ExtendOf, j.ReplayFrom = submitted.Parent, submitted.RemixOf, submitted.ExtendOf, submitted.ReplayFrom
				return j, nil
			}
			return submitted, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
	}
}
