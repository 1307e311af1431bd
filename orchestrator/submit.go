package orchestrator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus/protocol"
)

// SubmitOptions are per-submission extras.
type SubmitOptions struct {
	ID       string        // default: generated, time-sortable
	Deadline time.Duration // 0: none; a job past its deadline fails
	// Resume says an earlier attempt of this same submission (same ID) may
	// have got through before its reply was lost (a client retrying
	// through a leader election): an existing record is then taken as
	// this submission's, and the write-once prompt publish completes it.
	Resume bool
}

// Validate checks a request and its settings at intake, naming the field.
func Validate(req protocol.Request, set protocol.Settings) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return set.Validate()
}

// NewJobID returns a time-sortable id such as 20261127-212800-3f9a1c.
func NewJobID(now time.Time) string {
	var r [3]byte
	_, _ = rand.Read(r[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(r[:])
}

// ErrQueueFull is returned by Submit when more than the layout's MaxQueue
// jobs wait for the first stage (a bounded queue: callers back off).
var ErrQueueFull = errors.New("queue full")

// queued is the number of jobs waiting for or in textenc. The server updates
// a consumer's pending count asynchronously after a publish, so concurrent
// submissions can overshoot the bound by the few published in that window.
func (s *Store) queued(ctx context.Context) (int, error) {
	c, err := s.b.Stream.Consumer(ctx, protocol.ConsumerName(protocol.StageTextEnc))
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, nil // no stage has attached yet
	}
	if err != nil {
		return 0, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, err
	}
	return int(info.NumPending) + info.NumAckPending, nil
}

// Submit validates the request, records the job as queued and publishes its
// prompt message. It returns the job id.
func (s *Store) Submit(ctx context.Context, req protocol.Request, set protocol.Settings, o SubmitOptions) (string, error) {
	if err := Validate(req, set); err != nil {
		return "", err
	}
	if err := s.b.CheckRoom(ctx); err != nil {
		return "", err
	}
	if limit := s.b.Cfg.MaxQueue; limit > 0 {
		n, err := s.queued(ctx)
		if err != nil {
			return "", err
		}
		if n >= limit {
			return "", fmt.Errorf("%w: %d jobs are waiting (limit %d); retry later", ErrQueueFull, n, limit)
		}
	}
	now := s.now()
	id := o.ID
	if id == "" {
		id = NewJobID(now)
	}
	if err := protocol.ValidJobID(id); err != nil {
		return "", err
	}
	j := newJob(id, req, set, now)
	if o.Deadline > 0 {
		d := now.Add(o.Deadline)
		j.Deadline = &d
	}
	if err := s.create(ctx, j); err != nil && !(o.Resume && errors.Is(err, jetstream.ErrKeyExists)) {
		return "", err
	}
	env := &protocol.Envelope{Job: id, Stage: "submit", Attempt: 1, Settings: set}
	if err := env.SetBody(req); err != nil {
		return "", err
	}
	if _, err := s.b.PublishOnce(ctx, protocol.PromptSubject(id), env); err != nil {
		_ = s.Fail(ctx, id, "", fmt.Sprintf("submit: %v", err))
		return "", err
	}
	if err := s.b.PublishEvent(ctx, protocol.Event{Job: id, Kind: protocol.EventSubmitted, Time: now}); err != nil {
		s.log.Warn().Err(err).Str("job", id).Msg("submitted event")
	}
	return id, nil
}
