package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages"
	"github.com/rs/zerolog"
)

// delivery is the runner's stages.Delivery: one JetStream message and the
// runner's bus behind the handler's narrow view of it.
type delivery struct {
	subject string
	env     *protocol.Envelope
	attempt int
	log     zerolog.Logger

	msg   jetstream.Msg
	r     *Runner
	steps steps // step events being written (Report)
}

var _ stages.Delivery = (*delivery)(nil)

func (d *delivery) Envelope() *protocol.Envelope { return d.env }
func (d *delivery) Subject() string              { return d.subject }
func (d *delivery) Attempt() int                 { return d.attempt }
func (d *delivery) Log() *zerolog.Logger         { return &d.log }

// terminalEventTimeout bounds the write of a job's terminal event, which
// outlives the handler's context.
const terminalEventTimeout = time.Minute

// Heartbeat tells the server the message is still being worked on.
func (d *delivery) Heartbeat() {
	if err := d.msg.InProgress(); err != nil {
		d.log.Debug().Err(err).Msg("in-progress")
	}
}

// Report records a progress event for the job (and heartbeats). A step
// event is written in the background (see steps); any other event first
// waits for the steps before it.
func (d *delivery) Report(ctx context.Context, ev protocol.Event) {
	d.Heartbeat()
	ev.Job, ev.Stage, ev.Worker = d.env.Job, d.r.cfg.Stage, d.r.cfg.Worker
	if ev.Kind == protocol.EventStep {
		d.steps.add(ctx, ev, d.record)
		return
	}
	d.steps.flush()
	d.record(ctx, ev)
}

// record writes one event, logging a failure: progress is best effort.
func (d *delivery) record(ctx context.Context, ev protocol.Event) {
	if ev.Kind == protocol.EventSucceeded || ev.Kind == protocol.EventDone {
		// The record turning succeeded ends the job, which cancels ctx
		// (the runner's job-ended watch) while the event is still being
		// appended: a terminal event is written to the end.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), terminalEventTimeout)
		defer cancel()
	}
	if err := d.r.cfg.Tracker.Record(ctx, ev); err != nil && ctx.Err() == nil {
		d.log.Warn().Err(err).Str("event", ev.Kind).Msg("record event")
	}
}

// Publish writes a stage output on a write-once subject, after the step
// events reported before it.
func (d *delivery) Publish(ctx context.Context, subject string, env *protocol.Envelope) error {
	d.steps.flush()
	env.Job, env.Stage, env.Attempt = d.env.Job, d.r.cfg.Stage, d.attempt
	if env.Settings == (protocol.Settings{}) {
		env.Settings = d.env.Settings
	}
	dup, err := d.r.cfg.Bus.PublishOnce(ctx, subject, env)
	if err != nil {
		return err
	}
	if dup {
		d.log.Debug().Str("subject", subject).Msg("output already published (re-run); kept the first")
	}
	return nil
}

// PutBlob streams r into the blobs bucket, after the step events reported
// before it.
func (d *delivery) PutBlob(ctx context.Context, name string, r io.Reader, meta map[string]string) error {
	d.steps.flush()
	return d.r.cfg.Bus.PutBlobFrom(ctx, name, r, meta)
}

// Has reports whether subject already holds its message.
func (d *delivery) Has(ctx context.Context, subject string) (bool, error) {
	_, err := d.r.cfg.Bus.LastMsg(ctx, subject)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, protocol.ErrMissing) {
		return false, nil
	}
	return false, err
}

// Follow follows subjects with an ordered consumer from the start of the
// stream.
func (d *delivery) Follow(ctx context.Context, subjects []string) (stages.Follower, error) {
	b := d.r.cfg.Bus
	cons, err := b.JS.OrderedConsumer(ctx, protocol.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: subjects})
	if err != nil {
		return nil, fmt.Errorf("follow %v: %w", subjects, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, fmt.Errorf("follow %v: %w", subjects, err)
	}
	return &follower{it: it, r: d.r}, nil
}

type follower struct {
	it jetstream.MessagesContext
	r  *Runner
}

func (f *follower) Next(ctx context.Context) (string, *protocol.Envelope, error) {
	m, err := f.it.Next(jetstream.NextContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return "", nil, context.Cause(ctx)
		}
		return "", nil, err
	}
	env, err := f.r.cfg.Bus.Decode(ctx, m.Data())
	if err != nil {
		return m.Subject(), nil, fmt.Errorf("%s: %w", m.Subject(), err)
	}
	return m.Subject(), env, nil
}

func (f *follower) Stop() { f.it.Stop() }
