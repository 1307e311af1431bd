package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
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
	// A leader election must not lose an event whose record update went
	// through: retry transient failures, with a message id so that a
	// retry after a lost ack is not stored twice (ev.MsgID says which
	// events are once per job).
	id := ev.MsgID()
	err = ClientRetry.Do(ctx, b.log, "event", func(ctx context.Context) error {
		_, err := b.JS.Publish(ctx, protocol.EventSubject(ev.Job), data, jetstream.WithMsgID(id))
		return err
	})
	if err != nil {
		return fmt.Errorf("event %s/%s: %w", ev.Job, ev.Kind, err)
	}
	return nil
}

// JobStatus is what a stage needs to know about a job before working on it.
type JobStatus struct {
	// Known: somebody submitted the job (it has a record, a prompt message
	// or a submitted event); a stage refuses messages of unknown jobs.
	Known    bool
	State    protocol.State
	Deadline time.Time // zero: none
}
