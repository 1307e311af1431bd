package stagemem

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages"
	"github.com/rs/zerolog"
)

// DefaultWorker is the worker id events carry when Options names none.
const DefaultWorker = "stagemem"

// Options describe one delivery.
type Options struct {
	// Stage is the consuming stage; "" = the stage whose input kind the
	// subject carries (protocol.Pipeline).
	Stage string
	// Worker is the worker id reported events carry; "" = DefaultWorker.
	Worker string
	// Attempt is the delivery attempt; 0 = 1, the first.
	Attempt int
	// Log, if set, is the base logger; nil = a disabled one.
	Log *zerolog.Logger
	// OnReport, if set, is called with each event the handler reports
	// once it is recorded (progress for an embedding, a cue for a test).
	OnReport func(protocol.Event)
}

// Delivery is one message of a Bus being handled: the in-memory
// stages.Delivery.
type Delivery struct {
	bus     *Bus
	subject string
	env     *protocol.Envelope
	stage   string
	worker  string
	attempt int
	log     zerolog.Logger
	report  func(protocol.Event)

	heartbeats atomic.Int64
}

var _ stages.Delivery = (*Delivery)(nil)

// Deliver decodes the message on subject for a handler, with the checks the
// JetStream runner makes before its handler runs: a message that cannot be
// decoded, names another job than its subject, or another chunk, is an
// error wrapping protocol.ErrMalformed (a missing one wraps
// protocol.ErrMissing).
func (b *Bus) Deliver(subject string, o Options) (*Delivery, error) {
	s, err := protocol.ParseSubject(subject)
	if err != nil {
		return nil, err
	}
	if o.Stage == "" {
		if o.Stage, err = consumerOf(s.Kind); err != nil {
			return nil, err
		}
	}
	env, err := b.Message(subject)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", subject, err)
	}
	if env.Job != s.Job {
		return nil, protocol.Malformedf("%s: envelope names job %q", subject, env.Job)
	}
	if s.Chunk >= 0 && s.Chunk != env.Chunk {
		return nil, protocol.Malformedf("%s: envelope names chunk %d", subject, env.Chunk)
	}
	d := &Delivery{bus: b, subject: subject, env: env, stage: o.Stage, worker: o.Worker, attempt: o.Attempt, report: o.OnReport}
	if d.worker == "" {
		d.worker = DefaultWorker
	}
	if d.attempt == 0 {
		d.attempt = 1
	}
	base := zerolog.Nop()
	if o.Log != nil {
		base = *o.Log
	}
	lc := base.With().Str("stage", d.stage).Str("worker", d.worker).Str("job", env.Job).Str("subject", subject)
	if env.Count > 0 {
		lc = lc.Int("chunk", env.Chunk).Int("count", env.Count)
	}
	d.log = lc.Logger()
	return d, nil
}

// Handle delivers the message on subject to h as the runner does: the
// started event first, then the handler. It returns the delivery (for its
// heartbeats) and the handler's error; a message Deliver refuses never
// reaches h.
func (b *Bus) Handle(ctx context.Context, h stages.Handler, subject string, o Options) (*Delivery, error) {
	d, err := b.Deliver(subject, o)
	if err != nil {
		return nil, err
	}
	env := d.Envelope()
	d.Report(ctx, protocol.Event{Kind: protocol.EventStarted, Chunk: env.Chunk, Count: env.Count})
	return d, h.Handle(ctx, d)
}

// consumerOf is the stage consuming messages of kind.
func consumerOf(kind string) (string, error) {
	for _, s := range protocol.Pipeline() {
		if s.Input == kind {
			return s.Name, nil
		}
	}
	return "", fmt.Errorf("no stage consumes %q messages", kind)
}

// Envelope is the delivered message, decoded.
func (d *Delivery) Envelope() *protocol.Envelope { return d.env }

// Subject is the subject the message arrived on.
func (d *Delivery) Subject() string { return d.subject }

// Attempt is the delivery attempt, 1 for the first.
func (d *Delivery) Attempt() int { return d.attempt }

// Log carries the job, stage, worker and chunk.
func (d *Delivery) Log() *zerolog.Logger { return &d.log }

// Heartbeat counts a heartbeat (there is no ack deadline to extend).
func (d *Delivery) Heartbeat() { d.heartbeats.Add(1) }

// Heartbeats is how many heartbeats the handler sent, reports included.
func (d *Delivery) Heartbeats() int { return int(d.heartbeats.Load()) }

// Report records an event for the job, from this stage and worker (and
// heartbeats). After ctx ended nothing is recorded, as a job store refuses
// the write.
func (d *Delivery) Report(ctx context.Context, ev protocol.Event) {
	d.Heartbeat()
	if ctx.Err() != nil {
		return
	}
	ev.Job, ev.Stage, ev.Worker = d.env.Job, d.stage, d.worker
	ev = d.bus.record(ev)
	if d.report != nil {
		d.report(ev)
	}
}

// Publish writes a stage output on a write-once subject with the delivered
// message's job, this stage, this attempt and (when env has none) its
// settings; a duplicate is dropped.
func (d *Delivery) Publish(ctx context.Context, subject string, env *protocol.Envelope) error {
	env.Job, env.Stage, env.Attempt = d.env.Job, d.stage, d.attempt
	if env.Settings == (protocol.Settings{}) {
		env.Settings = d.env.Settings
	}
	dup, err := d.bus.Publish(ctx, subject, env)
	if err != nil {
		return err
	}
	if dup {
		d.log.Debug().Str("subject", subject).Msg("output already published (re-run); kept the first")
	}
	return nil
}

// PutBlob stores an object in the bus's blobs bucket.
func (d *Delivery) PutBlob(ctx context.Context, name string, r io.Reader, meta map[string]string) error {
	return d.bus.PutBlob(ctx, name, r, meta)
}

// Has reports whether subject already holds its message.
func (d *Delivery) Has(ctx context.Context, subject string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, context.Cause(ctx)
	}
	return d.bus.Has(subject), nil
}

// Follow follows subjects (NATS wildcards allowed; none = all) from the
// start of the stream.
func (d *Delivery) Follow(ctx context.Context, subjects []string) (stages.Follower, error) {
	return d.bus.Follow(ctx, subjects)
}
