package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/reel-video/reel/bus/protocol"
)

// PublishEvent appends an event to REEL_EVENTS.
func (b *Bus) PublishEvent(ctx context.Context, ev protocol.Event) error {
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if _, err := b.JS.Publish(ctx, protocol.EventSubject(ev.Job), data); err != nil {
		return fmt.Errorf("event %s/%s: %w", ev.Job, ev.Kind, err)
	}
	return nil
}

// JobStatus is what a stage needs to know about a job before working on it.
type JobStatus struct {
	Known    bool
	State    protocol.State
	Deadline time.Time // zero: none
}
