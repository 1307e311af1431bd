package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
)

// keepAlive is how often an idle event stream gets a comment line, so that
// proxies do not close it.
const keepAlive = 15 * time.Second

// sseEvent is the data of one Server-Sent Event: the reel event and the
// video object as it stands after it.
type sseEvent struct {
	Event protocol.Event `json:"event"`
	Video Video          `json:"video"`
}

// events streams a video's progress as Server-Sent Events: every event from
// the first (so a late subscriber sees the whole history), each named by
// its kind (step, chunk, done, succeeded, ...), ending after the job ends.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	j, err := s.owned(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		return fmt.Errorf("events: response writer cannot flush")
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fl.Flush()

	evs := make(chan protocol.Event, 64)
	done := make(chan error, 1)
	go func() {
		done <- s.cfg.Backend.Follow(ctx, j.ID, func(ev protocol.Event) bool {
			select {
			case evs <- ev:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	// The record is a projection of these very events and may lag them, so
	// each message carries the video as the events so far fold to.
	var seen []protocol.Event
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-done:
			if err != nil {
				s.cfg.Log.Warn().Err(err).Str("job", j.ID).Msg("api: events")
			}
			return nil
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			fl.Flush()
		case ev := <-evs:
			seen = append(seen, ev)
			if f := orchestrator.Fold(j.ID, seen); f != nil && f.Settings.Frames > 0 {
				j = f
			}
			data, err := json.Marshal(sseEvent{Event: ev, Video: s.video(j)})
			if err != nil {
				return nil
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", len(seen), ev.Kind, data); err != nil {
				return nil
			}
			fl.Flush()
			if ev.Ended() {
				return nil
			}
		}
	}
}
