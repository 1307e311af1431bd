package orchestrator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/reel-video/reel/bus"
)

// SubmitOptions are per-submission extras.
type SubmitOptions struct {
	ID       string        // default: generated, time-sortable
	Deadline time.Duration // 0: none; a job past its deadline fails
}

// Validate checks a request and its settings at intake, naming the field.
func Validate(req bus.Request, set bus.Settings) error {
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

// Submit validates the request, records the job as queued and publishes its
// prompt message. It returns the job id.
func (s *Store) Submit(ctx context.Context, req bus.Request, set bus.Settings, o SubmitOptions) (string, error) {
	if err := Validate(req, set); err != nil {
		return "", err
	}
	now := s.now()
	id := o.ID
	if id == "" {
		id = NewJobID(now)
	}
	if err := bus.ValidJobID(id); err != nil {
		return "", err
	}
	j := newJob(id, req, set, now)
	if o.Deadline > 0 {
		d := now.Add(o.Deadline)
		j.Deadline = &d
	}
	if err := s.create(ctx, j); err != nil {
		return "", err
	}
	env := &bus.Envelope{Job: id, Stage: "submit", Attempt: 1, Settings: set}
	if err := env.SetBody(req); err != nil {
		return "", err
	}
	if _, err := s.b.PublishOnce(ctx, bus.PromptSubject(id), env); err != nil {
		_ = s.Fail(ctx, id, "", fmt.Sprintf("submit: %v", err))
		return "", err
	}
	if err := s.b.PublishEvent(ctx, bus.Event{Job: id, Kind: bus.EventSubmitted, Time: now}); err != nil {
		s.log.Warn().Err(err).Str("job", id).Msg("submitted event")
	}
	return id, nil
}
