package orchestrator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
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

// ErrQueueFull is returned by Submit when MaxQueue jobs already wait for the
// first stage (a bounded queue: callers back off); a job published past the
// bound by any other client fails with it (Projector).
var ErrQueueFull = errors.New("queue full")

// ErrJobExists is returned by Submit for a job id that already has a prompt.
var ErrJobExists = errors.New("job exists")

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

// Submit validates the request and publishes its prompt message: that is
// the whole submission, as for any other client (the projector records the
// job, textenc takes it). The queue bound is checked first, so that a full
// queue is a synchronous error here. It returns the job id.
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
			return "", fmt.Errorf("%w (%d waiting, limit %d); retry later", ErrQueueFull, n, limit)
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
	env := &protocol.Envelope{Job: id, Stage: protocol.StageSubmit, Attempt: 1, Settings: set}
	if err := env.SetBody(req); err != nil {
		return "", err
	}
	var hdr nats.Header
	if o.Deadline > 0 {
		hdr = nats.Header{protocol.HeaderDeadline: {now.Add(o.Deadline).Format(time.RFC3339Nano)}}
	}
	dup, err := s.b.PublishOnceWith(ctx, protocol.PromptSubject(id), env, hdr)
	if err != nil {
		return "", err
	}
	if dup && !o.Resume {
		return "", fmt.Errorf("%w: %s already has a prompt", ErrJobExists, id)
	}
	return id, nil
}
