package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus/protocol"
)

// jobRecord is the part of a job record (KV reel-jobs) the metrics read.
type jobRecord struct {
	State    protocol.State `json:"state"`
	Created  time.Time      `json:"created"`
	Finished *time.Time     `json:"finished"`
}

// WatchJobs keeps the jobs-by-state gauge from the job records and counts
// the jobs that end while it watches, with their end-to-end latency. It
// returns once the watch is set up and runs until ctx ends.
func (m *Metrics) WatchJobs(ctx context.Context, jobs jetstream.KeyValue) error {
	w, err := jobs.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("metrics: watch jobs: %w", err)
	}
	go func() {
		defer func() { _ = w.Stop() }()
		states := map[string]protocol.State{} // only this goroutine uses it
		live := false                         // past the initial values: transitions are new
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					live = true
				} else {
					m.jobUpdate(states, e, live)
				}
			}
		}
	}()
	return nil
}

func (m *Metrics) jobUpdate(states map[string]protocol.State, e jetstream.KeyValueEntry, live bool) {
	prev, had := states[e.Key()]
	if e.Operation() != jetstream.KeyValuePut {
		if had {
			m.jobs.WithLabelValues(string(prev)).Dec()
			delete(states, e.Key())
		}
		return
	}
	var j jobRecord
	if json.Unmarshal(e.Value(), &j) != nil || j.State == "" || (had && prev == j.State) {
		return
	}
	if had {
		m.jobs.WithLabelValues(string(prev)).Dec()
	}
	m.jobs.WithLabelValues(string(j.State)).Inc()
	states[e.Key()] = j.State
	if live && j.State.Terminal() && !prev.Terminal() {
		m.jobsEnded.WithLabelValues(string(j.State)).Inc()
		if j.State == protocol.StateSucceeded && j.Finished != nil {
			m.jobSeconds.Observe(j.Finished.Sub(j.Created).Seconds())
		}
	}
}
