package worker

import (
	"context"
	"sync"
	"time"

	"github.com/reel-video/reel/bus/protocol"
)

// stepQueue bounds a delivery's step events waiting to be written; a
// handler that gets that far ahead of the stream waits for it.
const stepQueue = 64

// stepWriteTimeout bounds the write of one queued step event.
const stepWriteTimeout = 10 * time.Second

// steps writes a delivery's step events off the handler's goroutine, in
// order. Recording an event waits for the stream's ack: 0.2 ms here, a few
// ms on a replicated stream, which a sampler waited for after every step
// (on reel-tiny 30 steps paid 6–7 ms a job; a GPU step would idle for it).
// The other events and the handler's outputs are causally after the steps
// before them, so each of them waits until those steps are written
// (flush), and the runner flushes when the handler returns: the stream
// still holds every step, in order, before what followed it.
//
// What is written is what a synchronous write would have written: a step
// reported once the job's context has ended is dropped, as its write would
// have failed, and one reported before is written even if the job ends
// while it waits in the queue (the stream shows where a cancelled sampler
// really stopped).
type steps struct {
	mu     sync.Mutex
	q      chan stepItem // nil until the first step
	done   chan struct{} // closed when the writer has returned
	closed bool          // the delivery is over: steps are written at once
}

// stepItem is a step event to record, or (flushed set) a marker whose
// channel the writer closes once everything before it is written.
type stepItem struct {
	ctx     context.Context // the handler's, without its cancellation
	ev      protocol.Event
	flushed chan struct{}
}

// add queues a step event, starting the writer on the first one.
func (s *steps) add(ctx context.Context, ev protocol.Event, record func(context.Context, protocol.Event)) {
	if ctx.Err() != nil {
		return // the job ended: its write would fail
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed { // a handler reporting after it returned
		record(ctx, ev)
		return
	}
	if s.q == nil {
		s.q, s.done = make(chan stepItem, stepQueue), make(chan struct{})
		go s.write(record)
	}
	s.q <- stepItem{ctx: context.WithoutCancel(ctx), ev: ev}
}

func (s *steps) write(record func(context.Context, protocol.Event)) {
	defer close(s.done)
	for it := range s.q {
		if it.flushed != nil {
			close(it.flushed)
			continue
		}
		ctx, cancel := context.WithTimeout(it.ctx, stepWriteTimeout)
		record(ctx, it.ev)
		cancel()
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

// close writes what is queued and stops the writer: the delivery is over.
// It may be called more than once.
func (s *steps) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.q == nil {
		return
	}
	close(s.q)
	<-s.done
	s.q = nil
}
