package stagetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/reel-video/reel/stages"
)

// once reports true the first time a message (job, chunk) is seen.
func onceEach() func(d stages.Delivery) bool {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(d stages.Delivery) bool {
		mu.Lock()
		defer mu.Unlock()
		k := fmt.Sprintf("%s/%d", d.Envelope().Job, d.Envelope().Chunk)
		first := !seen[k]
		seen[k] = true
		return first
	}
}

// hold signals g.reached and waits for g.release (or the end of ctx).
func (g *gate) hold(ctx context.Context) {
	g.reached <- struct{}{}
	select {
	case <-g.release:
	case <-ctx.Done():
	}
}

// failAfterFirstRun lets the first run of each message publish its outputs
// and then fails it as if the worker died before acking, so that the
// server redelivers it.
func failAfterFirstRun(g *gate) stages.Middleware {
	first := onceEach()
	return func(next stages.Handler) stages.Handler {
		return stages.HandlerFunc(func(ctx context.Context, d stages.Delivery) error {
			err := next.Handle(ctx, d)
			if err == nil && first(d) {
				g.hold(ctx)
				return errWorkerLost
			}
			return err
		})
	}
}

// runTwice runs the handler a second time on the same delivery after a
// first successful run.
func runTwice(g *gate) stages.Middleware {
	first := onceEach()
	return func(next stages.Handler) stages.Handler {
		return stages.HandlerFunc(func(ctx context.Context, d stages.Delivery) error {
			err := next.Handle(ctx, d)
			if err == nil && first(d) {
				g.hold(ctx)
				err = next.Handle(ctx, d)
			}
			return err
		})
	}
}

// holdUntilEnded keeps each delivery from the handler until its context
// ends (the job cancelled), then runs the handler with that context.
func holdUntilEnded(held chan<- string) stages.Middleware {
	return func(next stages.Handler) stages.Handler {
		return stages.HandlerFunc(func(ctx context.Context, d stages.Delivery) error {
			held <- d.Envelope().Job
			<-ctx.Done()
			return next.Handle(ctx, d)
		})
	}
}

func waitChan[T any](t testing.TB, e *Env, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-e.ctx().Done():
		t.Fatal("timed out waiting for the handler")
	}
	panic("unreachable")
}
