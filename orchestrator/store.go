package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/rs/zerolog"
)

// ErrNotFound is returned for an unknown job id.
var ErrNotFound = errors.New("job not found")

// Store keeps job records in KV reel-jobs and appends events to REEL_EVENTS.
// It implements the stage runner's tracker.
type Store struct {
	b   *bus.Bus
	log zerolog.Logger
	now func() time.Time
}

// NewStore returns a store on the bus.
func NewStore(b *bus.Bus, log zerolog.Logger) *Store {
	return &Store{b: b, log: log, now: func() time.Time { return time.Now().UTC() }}
}

// Log is the store's logger.
func (s *Store) Log() zerolog.Logger { return s.log }

// Get returns a job record.
func (s *Store) Get(ctx context.Context, id string) (*Job, error) {
	j, _, err := s.get(ctx, id)
	return j, err
}

func (s *Store) get(ctx context.Context, id string) (*Job, uint64, error) {
	if err := protocol.ValidJobID(id); err != nil {
		return nil, 0, err
	}
	e, err := s.b.Jobs.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("job %s: %w", id, err)
	}
	var j Job
	if err := json.Unmarshal(e.Value(), &j); err != nil {
		return nil, 0, fmt.Errorf("job %s: bad record: %w", id, err)
	}
	return &j, e.Revision(), nil
}

func (s *Store) create(ctx context.Context, j *Job) error {
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if _, err := s.b.Jobs.Create(ctx, j.ID, data); err != nil {
		return fmt.Errorf("create job %s: %w", j.ID, err)
	}
	return nil
}

// update applies fn under compare-and-set, retrying on conflicts. fn reports
// whether it changed the record. With create, a missing record is created
// from an empty one (a malformed message can name a job nobody submitted).
func (s *Store) update(ctx context.Context, id string, create bool, fn func(*Job) bool) (*Job, bool, error) {
	for attempt := 0; ; attempt++ {
		j, rev, err := s.get(ctx, id)
		if errors.Is(err, ErrNotFound) && create {
			j = newJob(id, protocol.Request{}, protocol.Settings{}, s.now())
			if !fn(j) {
				return j, false, nil
			}
			if err := s.create(ctx, j); err != nil {
				if errors.Is(err, jetstream.ErrKeyExists) && attempt < 20 {
					continue
				}
				return nil, false, err
			}
			return j, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		if !fn(j) {
			return j, false, nil
		}
		data, err := json.Marshal(j)
		if err != nil {
			return nil, false, err
		}
		_, err = s.b.Jobs.Update(ctx, id, data, rev)
		if err == nil {
			return j, true, nil
		}
		// A conflict (another writer got there first) is reported as code
		// 10071 on R1 and 10164 on R3; ErrKeyRevisionMismatch covers both.
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) || attempt >= 50 {
			return nil, false, fmt.Errorf("update job %s: %w", id, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
	}
}

// Record folds an event into the job record and appends it to the events
// stream. Events that change nothing (a late chunk of a cancelled job) are
// dropped, except step events: they are always appended, so the stream shows
// where a cancelled sampler really stopped (the record keeps the step at
// which the job ended).
func (s *Store) Record(ctx context.Context, ev protocol.Event) error {
	if ev.Time.IsZero() {
		ev.Time = s.now()
	}
	create := ev.Kind == protocol.EventFailed
	// Through a leader election an update can time out after it was
	// applied; the retry then sees nothing to change, and the event must
	// still be appended (uncertain), or it is lost for good.
	var changed, uncertain bool
	err := bus.ClientRetry.Do(ctx, s.log, "record event", func(ctx context.Context) error {
		_, c, err := s.update(ctx, ev.Job, create, func(j *Job) bool { return j.apply(ev) })
		if err != nil {
			uncertain = uncertain || bus.Transient(err)
			return err
		}
		changed = c
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil // events for unknown jobs are not recorded
		}
		return err
	}
	if !changed && !uncertain && ev.Kind != protocol.EventStep {
		return nil
	}
	return s.b.PublishEvent(ctx, ev)
}

// Lookup is what a stage checks before working on a message.
func (s *Store) Lookup(ctx context.Context, id string) (bus.JobStatus, error) {
	j, err := s.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return bus.JobStatus{}, nil
	}
	if err != nil {
		return bus.JobStatus{}, err
	}
	st := bus.JobStatus{Known: true, State: j.State}
	if j.Deadline != nil {
		st.Deadline = *j.Deadline
	}
	return st, nil
}

// Fail marks a job failed (creating the record if nobody submitted it).
func (s *Store) Fail(ctx context.Context, id, stage, reason string) error {
	return s.Record(ctx, protocol.Event{Job: id, Stage: stage, Kind: protocol.EventFailed, Error: reason})
}

// Cancel marks a job cancelled; stages stop working on it within one denoise
// step or one chunk. Cancelling an ended job is an error naming its state.
func (s *Store) Cancel(ctx context.Context, id, reason string) error {
	j, changed, err := s.update(ctx, id, false, func(j *Job) bool {
		return j.apply(protocol.Event{Job: id, Kind: protocol.EventCancelled, Error: reason, Time: s.now()})
	})
	if err != nil {
		return err
	}
	if !changed {
		return fmt.Errorf("job %s already %s", id, j.State)
	}
	return s.b.PublishEvent(ctx, protocol.Event{Job: id, Kind: protocol.EventCancelled, Error: reason})
}

// List returns all job records, newest first.
func (s *Store) List(ctx context.Context) ([]*Job, error) {
	lister, err := s.b.Jobs.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Job
	for k := range lister.Keys() {
		j, err := s.Get(ctx, k)
		if err != nil {
			continue // deleted meanwhile
		}
		out = append(out, j)
	}
	if err := lister.Stop(); err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		s.log.Debug().Err(err).Msg("list keys")
	}
	slices.SortFunc(out, func(a, b *Job) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// WatchEnded calls fn(job) whenever a job reaches a terminal state, until
// ctx ends. It returns once the watch is set up.
func (s *Store) WatchEnded(ctx context.Context, fn func(job string, st protocol.State)) error {
	w, err := s.b.Jobs.WatchAll(ctx, jetstream.UpdatesOnly())
	if err != nil {
		return fmt.Errorf("watch jobs: %w", err)
	}
	go func() {
		defer func() { _ = w.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil || e.Operation() != jetstream.KeyValuePut {
					continue
				}
				var j struct {
					State protocol.State `json:"state"`
				}
				if json.Unmarshal(e.Value(), &j) == nil && j.State.Terminal() {
					fn(e.Key(), j.State)
				}
			}
		}
	}()
	return nil
}

// Wait blocks until the job ends and returns its record.
func (s *Store) Wait(ctx context.Context, id string) (*Job, error) {
	w, err := s.b.Jobs.Watch(ctx, id)
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("watch %s: closed", id)
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			var j Job
			if err := json.Unmarshal(e.Value(), &j); err != nil {
				return nil, err
			}
			if j.State.Terminal() {
				return &j, nil
			}
		}
	}
}
