package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages/pull"
)

// Projector keeps the job records in KV reel-jobs: the projection of the
// prompt messages and the events (docs/protocol.md, "Job record"). It serves
// two durable consumers, shared by every process that hosts a projector
// (any reel process may):
//
//   - prompts (reel.prompt.* of stream REEL): intake for every publisher
//     alike. It appends the job's submitted event (request and settings as
//     decoded, defaults filled in, deadline from the Reel-Deadline header)
//     and enforces the queue bound: a job published while MaxQueue jobs wait
//     for textenc fails with "queue full (N waiting, limit M)". Validation
//     is textenc's (it fails an invalid prompt with a reason naming the
//     field), so that one stage decides it.
//   - events (REEL_EVENTS): folds each event into its job's record, in
//     stream order (the consumer lets one message out at a time across all
//     hosts), creating the record with the job's first event; the first
//     ending event decides the job's state. It acks after the KV write, and
//     skips an event at or below the record's Seq, so a redelivery folds
//     nothing twice.
//
// The projector is the only writer of reel-jobs.
type Projector struct {
	Store *Store
}

// projectorBatch is how many messages the projector's pulls ask for. Its
// consumers let one message out at a time whatever the pull asks
// (MaxAckPending 1), so a larger pull prefetches nothing; it only spares a
// pull request after every message (pull.Options.Batch).
const projectorBatch = 64

// Run serves both consumers until ctx ends. Like the dead-letter handler, it
// attaches again when a pull stops while ctx lives; only a failed first
// attach or a closed connection end it with an error.
func (p Projector) Run(ctx context.Context) error {
	b, log := p.Store.b, p.Store.log
	cache := newFoldCache()
	fold := func(ctx context.Context, m jetstream.Msg) error { return p.fold(ctx, m, cache) }
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() {
		errs[0] = pull.Serve(ctx, pull.Options{Name: "reel-projector-prompts", Attach: b.ProjectorPrompts, Log: log, Batch: projectorBatch,
			Handle: func(ctx context.Context, m jetstream.Msg) { p.settle(ctx, m, p.intake) }})
	})
	wg.Go(func() {
		errs[1] = pull.Serve(ctx, pull.Options{Name: "reel-projector-events", Attach: b.ProjectorEvents, Log: log, Batch: projectorBatch,
			Handle: func(ctx context.Context, m jetstream.Msg) { p.settle(ctx, m, fold) }})
	})
	wg.Wait()
	return errors.Join(errs...)
}

// settle acks a handled message and naks (shortly) one whose handling failed
// on the bus: nothing is dropped, and the next message waits for it.
//
// The ack is a plain one, not a double ack: the server lets the next
// message out only once it has this ack (MaxAckPending 1), so waiting for
// its confirmation as well bought nothing but a round trip and a message
// per event, about 45 per job. An ack lost with the connection is a
// redelivery after the ack wait, which intake (submitted events published
// once per job) and fold (an event's sequence number is folded once) make
// harmless.
func (p Projector) settle(ctx context.Context, m jetstream.Msg, handle func(context.Context, jetstream.Msg) error) {
	if err := handle(ctx, m); err != nil {
		if ctx.Err() == nil {
			p.Store.log.Warn().Err(err).Str("subject", m.Subject()).Msg("projector: will retry")
		}
		_ = m.NakWithDelay(100 * time.Millisecond)
		return
	}
	if err := m.Ack(); err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
		p.Store.log.Warn().Err(err).Str("subject", m.Subject()).Msg("projector: ack")
	}
}

// intake handles one prompt message.
func (p Projector) intake(ctx context.Context, m jetstream.Msg) error {
	s := p.Store
	sub, err := protocol.ParseSubject(m.Subject())
	if err != nil || sub.Kind != protocol.KindPrompt {
		s.log.Warn().Str("subject", m.Subject()).Msg("projector: not a prompt subject; skipped")
		return nil
	}
	md, err := m.Metadata()
	if err != nil {
		return err
	}
	env, derr := protocol.DecodePromptMessage(sub.Job, m.Data())
	if env != nil && protocol.Linked(env.Stage) {
		return nil // the replay, extension or remix appended its own submitted event, with its parent
	}
	req, set, _ := protocol.DecodePrompt(m.Data())
	ev := protocol.Event{Job: sub.Job, Kind: protocol.EventSubmitted, Prompt: req.Prompt, Negative: req.Negative,
		Settings: &set, Time: md.Timestamp.UTC()}
	var intakeErr string
	if h := m.Headers().Get(protocol.HeaderDeadline); h != "" {
		d, err := time.Parse(time.RFC3339Nano, h)
		if err != nil {
			intakeErr = fmt.Sprintf("%s header: %q is not an RFC 3339 time", protocol.HeaderDeadline, h)
		} else {
			d = d.UTC()
			ev.Deadline = &d
		}
	}
	if err := s.publishOnce(ctx, ev, "submitted."+sub.Job); err != nil {
		return err
	}
	if intakeErr == "" && derr == nil {
		if intakeErr, err = p.queueCheck(ctx, md); err != nil {
			return err
		}
	}
	if intakeErr == "" {
		return nil
	}
	return s.publishOnce(ctx, protocol.Event{Job: sub.Job, Kind: protocol.EventFailed, Error: intakeErr}, "intake."+sub.Job)
}

// queueCheck is the queue bound for the prompt at md: "" when the job may
// wait for textenc, else the failure reason. The jobs waiting ahead of it
// are the textenc consumer's backlog (pending and unacknowledged prompts)
// less the prompts published after it and itself. The two counts come from
// two consumers, read one after the other; a prompt published in between
// would be in one and not the other, so they are read again until no
// prompt arrived meanwhile. `reel submit` checks the same bound first.
func (p Projector) queueCheck(ctx context.Context, md *jetstream.MsgMetadata) (string, error) {
	limit := p.Store.b.Cfg.MaxQueue
	if limit <= 0 {
		return "", nil
	}
	// Created here if no textenc has attached yet, so that prompts
	// published before any textenc runs count as waiting.
	c, err := p.Store.b.Stream.Consumer(ctx, protocol.ConsumerName(protocol.StageTextEnc))
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		c, err = p.Store.b.Consumer(ctx, protocol.StageTextEnc)
	}
	if err != nil {
		return "", err
	}
	// The projector's prompts consumer lets one prompt out at a time, so
	// while this one is being folded its pending count is the prompts
	// published after it, and it only grows.
	after, err := p.Store.b.Stream.Consumer(ctx, bus.ProjectorPromptsConsumer)
	if err != nil {
		return "", err
	}
	later := func() (int, error) {
		info, err := after.Info(ctx)
		if err != nil {
			return 0, err
		}
		return int(info.NumPending), nil
	}
	for attempt := 1; ; attempt++ {
		before, err := later()
		if err != nil {
			return "", err
		}
		info, err := c.Info(ctx)
		if err != nil {
			return "", err
		}
		if info.Delivered.Stream >= md.Sequence.Stream {
			return "", nil // textenc already took it
		}
		since, err := later()
		if err != nil {
			return "", err
		}
		if since != before && attempt < queueCheckReads {
			continue // a prompt arrived between the reads
		}
		// Still moving after a few reads (a sustained burst): count with
		// the earlier, smaller figure, which errs towards refusing.
		waiting := int(info.NumPending) + info.NumAckPending - before - 1
		if waiting < limit {
			return "", nil
		}
		return queueFull(waiting, limit), nil
	}
}

// queueCheckReads bounds how often queueCheck reads the counts again while
// prompts keep arriving.
const queueCheckReads = 8

// queueFull is the reason a job fails, or a submission is refused, with.
func queueFull(waiting, limit int) string {
	return fmt.Sprintf("%s (%d waiting, limit %d)", ErrQueueFull, waiting, limit)
}

// fold folds one event into its job's record.
func (p Projector) fold(ctx context.Context, m jetstream.Msg, cache *foldCache) error {
	s := p.Store
	md, err := m.Metadata()
	if err != nil {
		return err
	}
	job := strings.TrimPrefix(m.Subject(), protocol.EventsPrefix+".")
	var ev protocol.Event
	if err := json.Unmarshal(m.Data(), &ev); err != nil || protocol.ValidJobID(job) != nil || (ev.Job != "" && ev.Job != job) {
		s.log.Warn().Str("subject", m.Subject()).Msg("projector: event skipped (undecodable, or naming another job)")
		return nil
	}
	ev.Job = job
	if ev.Time.IsZero() {
		ev.Time = md.Timestamp.UTC()
	}
	seq := md.Sequence.Stream
	for attempt := 0; ; attempt++ {
		j, rev, cached := cache.get(job)
		if !cached || attempt > 0 {
			j, rev, err = s.get(ctx, job)
		}
		switch {
		case errors.Is(err, ErrNotFound):
			j, rev = newJob(job, ev.Time), 0
		case err != nil:
			return err
		case j.Seq >= seq:
			return nil // folded before a redelivery
		}
		if !j.apply(ev) {
			return nil
		}
		j.Seq = seq
		data, err := json.Marshal(j)
		if err != nil {
			return err
		}
		if rev == 0 {
			rev, err = s.b.Jobs.Create(ctx, job, data)
		} else {
			rev, err = s.b.Jobs.Update(ctx, job, data, rev)
		}
		if err == nil {
			cache.put(job, data, rev)
			return nil
		}
		cache.drop(job)
		// Another projector host wrote first (only across a failover):
		// read again. A conflict is 10071 on R1, 10164 on R3.
		conflict := errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
		if !conflict || attempt >= 20 {
			return fmt.Errorf("record job %s: %w", job, err)
		}
	}
}

// publishOnce appends an event the projector derives from a prompt, with a
// message id, so that a redelivered prompt does not append it twice.
func (s *Store) publishOnce(ctx context.Context, ev protocol.Event, id string) error {
	if ev.Time.IsZero() {
		ev.Time = s.now()
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	msg := nats.NewMsg(protocol.EventSubject(ev.Job))
	msg.Data = data
	if _, err := s.b.JS.PublishMsg(ctx, msg, jetstream.WithMsgID(id)); err != nil {
		return fmt.Errorf("event %s/%s: %w", ev.Job, ev.Kind, err)
	}
	return nil
}
