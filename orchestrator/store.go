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

// Store is the job side of the bus for stages and clients: it appends events
// to REEL_EVENTS (the record of what happened) and reads the job records in
// KV reel-jobs, which only the Projector writes (docs/protocol.md, "Job
// record"). It implements the stage runner's tracker.
type Store struct {
	b       *bus.Bus
	log     zerolog.Logger
	now     func() time.Time
	ended   *endedJobs
	watches endedWatch // WatchEnded's callbacks, on one consumer
}

// NewStore returns a store on the bus.
func NewStore(b *bus.Bus, log zerolog.Logger) *Store {
	return &Store{b: b, log: log, now: func() time.Time { return time.Now().UTC() }, ended: newEndedJobs(endedRemembered)}
}

// Log is the store's logger.
func (s *Store) Log() zerolog.Logger { return s.log }

// Get returns a job record. A job whose prompt is on the bus but not yet
// projected (the projector lags a publish by milliseconds, or is not
// running) is returned as the queued record its prompt makes.
func (s *Store) Get(ctx context.Context, id string) (*Job, error) {
	j, _, err := s.get(ctx, id)
	if !errors.Is(err, ErrNotFound) {
		return j, err
	}
	m, perr := s.b.Stream.GetLastMsgForSubject(ctx, protocol.PromptSubject(id))
	if perr != nil {
		return nil, err
	}
	req, set, _ := protocol.DecodePrompt(m.Data)
	j = newJob(id, m.Time.UTC())
	j.apply(protocol.Event{Job: id, Kind: protocol.EventSubmitted, Prompt: req.Prompt, Negative: req.Negative, Settings: &set, Time: m.Time.UTC()})
	return j, nil
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

// Record appends an event to the job's events (REEL_EVENTS). The projector
// folds it into the record; an event that changes nothing there (a late
// chunk of a cancelled job) still stays in the stream, so the stream shows
// everything that happened (e.g. where a cancelled sampler really stopped).
func (s *Store) Record(ctx context.Context, ev protocol.Event) error {
	if ev.Time.IsZero() {
		ev.Time = s.now()
	}
	if err := s.b.PublishEvent(ctx, ev); err != nil {
		return err
	}
	if ev.Ended() {
		s.ended.add(ev.Job, ev.EndState())
	}
	return nil
}

// Lookup is what a stage checks before working on a message: the projected
// record's state and deadline. A job this process has seen end (it recorded
// the ending event, or WatchEnded saw it) is ended at once, without waiting
// for the projection: a poison chunk's failure stops the job's next chunk
// on the same worker. Until the projector has folded the job's
// submitted event (it lags the prompt by milliseconds, and the first stage
// may be faster), the deadline is read from the prompt message itself.
func (s *Store) Lookup(ctx context.Context, id string) (bus.JobStatus, error) {
	if st, ok := s.ended.get(id); ok {
		return bus.JobStatus{Known: true, State: st}, nil
	}
	j, _, err := s.get(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return bus.JobStatus{}, err
	}
	var st bus.JobStatus
	if j != nil {
		st = bus.JobStatus{Known: true, State: j.State}
		if j.Deadline != nil {
			st.Deadline = *j.Deadline
		}
		if j.Settings.Frames != 0 {
			return st, nil // submitted folded: the record has it all
		}
	}
	m, err := s.b.Stream.GetLastMsgForSubject(ctx, protocol.PromptSubject(id))
	if bus.IsNotFound(err) {
		if st.Known {
			return st, nil
		}
		// A replay, extension or remix has no prompt of its own: its
		// submitted event, appended before its first input, makes it a job.
		_, err = s.b.Events.GetLastMsgForSubject(ctx, protocol.EventSubject(id))
		if bus.IsNotFound(err) {
			return st, nil // nobody submitted it
		}
		st.Known = err == nil
		return st, err
	}
	if err != nil {
		return st, err
	}
	st.Known = true
	if d, err := time.Parse(time.RFC3339Nano, m.Header.Get(protocol.HeaderDeadline)); err == nil {
		st.Deadline = d
	}
	return st, nil
}

// Fail marks a job failed (an event: a job nobody submitted gets a record
// too).
func (s *Store) Fail(ctx context.Context, id, stage, reason string) error {
	return s.Record(ctx, protocol.Event{Job: id, Stage: stage, Kind: protocol.EventFailed, Error: reason})
}

// Cancel cancels a job by appending a cancelled event; stages stop working
// on it within one denoise step or one chunk. Cancelling a job that has
// already ended is an error naming its state (as the record says; should a
// stage end the job in the same instant, the first ending event in the
// stream wins).
func (s *Store) Cancel(ctx context.Context, id, reason string) error {
	j, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if j.State.Terminal() {
		return fmt.Errorf("job %s already %s", id, j.State)
	}
	return s.Record(ctx, protocol.Event{Job: id, Kind: protocol.EventCancelled, Error: reason})
}

// List returns all job records, newest first.
func (s *Store) List(ctx context.Context) ([]*Job, error) {
	lister, err := s.b.Jobs.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Job
	for k := range lister.Keys() {
		j, _, err := s.get(ctx, k)
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

// Wait blocks until the job ends and returns the record its events fold to
// up to the ending one (read from REEL_EVENTS, like `reel watch`: it does not
// depend on the projector).
func (s *Store) Wait(ctx context.Context, id string) (*Job, error) {
	var evs []protocol.Event
	err := s.Follow(ctx, id, func(ev protocol.Event) { evs = append(evs, ev) })
	if err != nil {
		return nil, err
	}
	return Fold(id, evs), nil
}

// Follow calls fn with each event of job id, from its first, through the
// first ending event (then it returns nil), or until ctx ends. It reads one
// source, the job's subject of REEL_EVENTS, with an ordered consumer.
func (s *Store) Follow(ctx context.Context, id string, fn func(protocol.Event)) error {
	if err := protocol.ValidJobID(id); err != nil {
		return err
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cons, err := s.b.JS.OrderedConsumer(fctx, protocol.EventsStreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{protocol.EventSubject(id)},
	})
	if err != nil {
		return fmt.Errorf("follow %s: %w", id, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("follow %s: %w", id, err)
	}
	defer it.Stop()
	context.AfterFunc(fctx, it.Stop)
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("follow %s: %w", id, err)
		}
		var ev protocol.Event
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			s.log.Warn().Err(err).Str("job", id).Msg("undecodable event skipped")
			continue
		}
		fn(ev)
		if ev.Ended() {
			return nil
		}
	}
}

// Exists reports whether anything of job id is on the bus: its prompt, a
// record or an event.
func (s *Store) Exists(ctx context.Context, id string) (bool, error) {
	if err := protocol.ValidJobID(id); err != nil {
		return false, err
	}
	if _, err := s.Get(ctx, id); err == nil {
		return true, nil
	} else if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	_, err := s.b.Events.GetLastMsgForSubject(ctx, protocol.EventSubject(id))
	if bus.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// Settled waits until the record of job id shows it ended (the projector
// has folded its ending event), or ctx ends (then its error).
func (s *Store) Settled(ctx context.Context, id string) error {
	w, err := s.b.Jobs.Watch(ctx, id)
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("watch %s: closed", id)
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			var j struct {
				State protocol.State `json:"state"`
			}
			if json.Unmarshal(e.Value(), &j) == nil && j.State.Terminal() {
				return nil
			}
		}
	}
}

// Events returns the events of job id on the bus now, in stream order.
func (s *Store) Events(ctx context.Context, id string) ([]protocol.Event, error) {
	if err := protocol.ValidJobID(id); err != nil {
		return nil, err
	}
	subject := protocol.EventSubject(id)
	info, err := s.b.Events.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return nil, err
	}
	n := int(info.State.Subjects[subject])
	if n == 0 {
		return nil, nil
	}
	cons, err := s.b.JS.OrderedConsumer(ctx, protocol.EventsStreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return nil, err
	}
	out := make([]protocol.Event, 0, n)
	for len(out) < n {
		batch, err := cons.Fetch(n-len(out), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return out, err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			var ev protocol.Event
			if err := json.Unmarshal(m.Data(), &ev); err != nil {
				return out, fmt.Errorf("event %s: %w", subject, err)
			}
			out = append(out, ev)
		}
		if err := batch.Error(); err != nil {
			return out, err
		}
		if got == 0 {
			return out, fmt.Errorf("events of %s: %d of %d read", id, len(out), n)
		}
	}
	return out, nil
}
