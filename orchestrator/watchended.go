package orchestrator

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus/protocol"
)

// endedWatch serves every WatchEnded of a Store from one ordered consumer.
// Every stage runner of a process watches for ending jobs, and the watch
// reads all of REEL_EVENTS: with a consumer per runner, each event (30 step
// events a job) was delivered and decoded once per stage of the process.
type endedWatch struct {
	mu       sync.Mutex
	watchers map[int]watcher
	next     int
	stop     func() // stops the consumer; nil while none runs
}

// watcher is one WatchEnded call: fn is called while ctx lives.
type watcher struct {
	ctx context.Context
	fn  func(job string, st protocol.State)
}

// WatchEnded calls fn(job, state) for every job ending from now on (the
// ending events of REEL_EVENTS, so it does not wait for the projection),
// until ctx ends. It returns once the watch is set up. The watches of one
// Store share a consumer, which runs while any of them does.
func (s *Store) WatchEnded(ctx context.Context, fn func(job string, st protocol.State)) error {
	w := &s.watches
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stop == nil {
		if err := s.startEndedWatch(ctx); err != nil {
			return err
		}
	}
	id := w.next
	w.next++
	w.watchers[id] = watcher{ctx, fn}
	context.AfterFunc(ctx, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.watchers, id)
		if len(w.watchers) == 0 && w.stop != nil {
			w.stop()
			w.stop = nil
		}
	})
	return nil
}

// startEndedWatch starts the shared consumer; w.mu is held.
func (s *Store) startEndedWatch(ctx context.Context) error {
	cons, err := s.b.JS.OrderedConsumer(ctx, protocol.EventsStreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{protocol.EventSubject("*")},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return fmt.Errorf("watch ended jobs: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("watch ended jobs: %w", err)
	}
	w := &s.watches
	w.watchers, w.stop = map[int]watcher{}, it.Stop
	go func() {
		for {
			m, err := it.Next()
			if err != nil {
				return // stopped, or the connection closed
			}
			var ev protocol.Event
			if json.Unmarshal(m.Data(), &ev) != nil || !ev.Ended() {
				continue
			}
			s.ended.add(ev.Job, ev.EndState())
			w.mu.Lock()
			ws := make([]watcher, 0, len(w.watchers))
			for _, x := range w.watchers {
				ws = append(ws, x)
			}
			w.mu.Unlock()
			for _, x := range ws {
				if x.ctx.Err() == nil { // its removal (AfterFunc) may still be on its way
					x.fn(ev.Job, ev.EndState())
				}
			}
		}
	}()
	return nil
}
