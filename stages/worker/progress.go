package worker

import (
	"context"
	"sync"

	"github.com/reel-video/reel/bus/protocol"
)

// stepQueue bounds a delivery's step events waiting to be written; a
// handler that gets that far ahead of the stream waits for it.
const stepQueue = 64

// steps writes a delivery's step events off the handler's goroutine, in
// order. Recording an event waits for the stream's ack: 0.2 ms here, a few
// ms on a replicated stream, which a sampler waited for after every step
// (on reel-tiny 30 steps paid 6–7 ms a job; a GPU step would idle for it).
// The other events and the handler's outputs are causally after the steps
// before them, so each of them waits until those steps are written
// (flush), and the runner flushes when the handler returns: the stream
// still holds every step, in order, before what followed it.
type steps struct {
	mu   sync.Mutex
	q    chan stepItem // nil until the first step
	done chan struct{} // closed when the writer has returned
}

// stepItem is a step event to record, or (flushed set) a marker whose
// channel the writer closes once everything before it is written.
type stepItem struct {
	ctx     context.Context
	ev      protocol.Event
	flushed chan struct{}
}

// add queues a step event, starting the writer on the first one.
func (s *steps) add(ctx context.Context, ev protocol.Event, record func(context.Context, protocol.Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.q == nil {
		s.q, s.done = make(chan stepItem, stepQueue), make(chan struct{})
		go s.write(record)
	}
	select {
	case s.q <- stepItem{ctx: ctx, ev: ev}:
	case <-ctx.Done(): // the job ended: its progress no longer matters
	}
}

func (s *steps) write(record func(context.Context, protocol.Event)) {
	defer close(s.done)
	for it := range s.q {
		if it.flushed != nil {
			close(it.flushed)
			continue
		}
		record(it.ctx, it.ev)
	}
}

// flush returns once every step queued before it is written.
func (s *steps) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.q == nil {
		return
	}
	f := make(chan struct{})
	s.q <- stepItem{flushed: f}
	<-f
}

// close flushes and stops the writer; the delivery is over.
func (s *steps) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.q == nil {
		return
	}
	close(s.q)
	<-s.done
	s.q = nil
}
