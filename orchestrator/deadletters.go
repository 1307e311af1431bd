package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages/pull"
)

// advisory is the part of the MAX_DELIVERIES / MSG_TERMINATED advisories we use.
type advisory struct {
	Type       string `json:"type"`
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
	Reason     string `json:"reason"`
}

// DeadLetters turns the server's dead-letter advisories (captured durably in
// stream REEL_DLQ) into failed jobs: a message that ran out of deliveries,
// e.g. because its worker kept dying, fails its job with the reason. The
// original message stays in stream REEL (Limits retention) for inspection
// and replay.
type DeadLetters struct {
	Store *Store
}

// Run serves until ctx ends. Any number of processes may run it; they share
// one durable consumer. If the pull stops while ctx lives (the consumer was
// deleted by an operator or with its stream), Run attaches again, with
// backoff, instead of silently stopping (stages/pull, as the stage runner's
// slots do); only a failed first attach or a closed connection end it with
// an error.
func (d DeadLetters) Run(ctx context.Context) error {
	return pull.Serve(ctx, pull.Options{
		Name:   "reel-deadletters",
		Attach: d.Store.b.DLQConsumer,
		Handle: func(ctx context.Context, m jetstream.Msg) {
			if err := d.handle(ctx, m); err != nil {
				d.Store.log.Warn().Err(err).Msg("dead letter")
				_ = m.NakWithDelay(time.Second)
				return
			}
			_ = m.Ack()
		},
		Log: d.Store.log,
	})
}

func (d DeadLetters) handle(ctx context.Context, m jetstream.Msg) error {
	var a advisory
	if err := json.Unmarshal(m.Data(), &a); err != nil {
		return nil // not ours to fix; drop
	}
	stage := strings.TrimPrefix(a.Consumer, "reel-")
	if _, err := protocol.InputKind(stage); err != nil || a.Consumer != protocol.ConsumerName(stage) {
		return nil // another consumer on stream REEL (an operator's): not a stage's dead letter
	}
	raw, err := d.Store.b.Stream.GetMsg(ctx, a.StreamSeq)
	if err != nil {
		if bus.IsNotFound(err) {
			return nil
		}
		return err
	}
	job := bus.JobOf(raw.Header, raw.Subject)
	if job == "" {
		return nil
	}
	j, err := d.Store.Get(ctx, job)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil // nobody submitted it: the stage refused it, and forged ids get no record
	case err != nil:
		return err
	case j.State.Terminal():
		return nil // the stage already failed (or finished/cancelled) the job
	}
	var reason string
	if strings.Contains(a.Type, "terminated") {
		reason = fmt.Sprintf("%s: message %s terminated", stage, raw.Subject)
		if a.Reason != "" {
			reason += ": " + a.Reason
		}
	} else {
		reason = fmt.Sprintf("%s: gave up on %s after %d deliveries (dead letter, stream seq %d)", stage, raw.Subject, a.Deliveries, a.StreamSeq)
		if j != nil && j.Stages[stage] != nil && j.Stages[stage].Error != "" {
			reason += "; last error: " + j.Stages[stage].Error
		}
	}
	d.Store.log.Warn().Str("job", job).Str("stage", stage).Msg(reason)
	return d.Store.Fail(ctx, job, stage, reason)
}
