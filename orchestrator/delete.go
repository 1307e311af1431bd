package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
)

// Delete removes a job entirely and frees its space: its messages on
// stream REEL (purged by subject), its events, its videos and
// claim-checked bodies, and its record. A job still running is cancelled
// first, so that no stage writes after the purge.
func (s *Store) Delete(ctx context.Context, id string) error {
	j, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if !j.State.Terminal() {
		if err := s.Cancel(ctx, id, "deleted"); err != nil {
			return fmt.Errorf("delete %s: %w", id, err)
		}
	}
	chunks := max(j.Settings.Chunks(), 1)
	subjects := []string{protocol.PromptSubject(id), protocol.TextSubject(id), protocol.LatentFilter(id),
		protocol.FramesFilter(id), protocol.VideoSubject(id)}
	for _, subj := range subjects {
		if err := s.b.Stream.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
			return fmt.Errorf("delete %s: purge %s: %w", id, subj, err)
		}
	}
	if err := s.b.Events.Purge(ctx, jetstream.WithPurgeSubject(protocol.EventSubject(id))); err != nil {
		return fmt.Errorf("delete %s: purge events: %w", id, err)
	}
	blobs := []string{protocol.VideoObject(id), protocol.PosterObject(id), protocol.GIFObject(id),
		"claim/" + protocol.PromptSubject(id), "claim/" + protocol.TextSubject(id)}
	for i := range chunks {
		blobs = append(blobs, "claim/"+protocol.LatentSubject(id, i), "claim/"+protocol.FramesSubject(id, i))
	}
	for _, name := range blobs {
		if err := s.b.Blobs.Delete(ctx, name); err != nil && !bus.IsNotFound(err) {
			return fmt.Errorf("delete %s: %s: %w", id, name, err)
		}
	}
	if err := s.b.Jobs.Purge(ctx, id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("delete %s: record: %w", id, err)
	}
	return nil
}

// Prune deletes every ended job created before t and calls fn for each
// (with the error, if its delete failed); running and queued jobs are
// kept. It returns how many were deleted.
func (s *Store) Prune(ctx context.Context, before time.Time, fn func(id string, err error)) (int, error) {
	jobs, err := s.List(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, j := range jobs {
		if !j.State.Terminal() || !j.Created.Before(before) {
			continue
		}
		err := s.Delete(ctx, j.ID)
		if err == nil {
			n++
		}
		fn(j.ID, err)
	}
	return n, nil
}
