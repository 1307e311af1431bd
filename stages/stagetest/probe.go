package stagetest

import (
	"context"
	"slices"
	"sync"

	"github.com/reel-video/reel/stages"
)

// Call is one run of the handler, seen by the outermost test middleware.
type Call struct {
	Job       string
	Chunk     int
	Delivered int   // the delivery's NumDelivered
	Done      bool  // the handler returned
	Err       error // what it returned
}

// probe records handler calls so that tests wait on them instead of sleeping.
type probe struct {
	mu      sync.Mutex
	calls   []Call
	changed chan struct{} // closed and replaced on every change
}

func newProbe() *probe { return &probe{changed: make(chan struct{})} }

func (p *probe) update(fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn()
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *probe) middleware() stages.Middleware {
	return func(next stages.Handler) stages.Handler {
		return stages.HandlerFunc(func(ctx context.Context, d stages.Delivery) error {
			var i int
			p.update(func() {
				i = len(p.calls)
				p.calls = append(p.calls, Call{Job: d.Envelope().Job, Chunk: d.Envelope().Chunk, Delivered: d.Attempt()})
			})
			err := next.Handle(ctx, d)
			p.update(func() { p.calls[i].Done, p.calls[i].Err = true, err })
			return err
		})
	}
}

// wait returns the calls of job once cond holds for them.
func (p *probe) wait(ctx context.Context, job string, cond func([]Call) bool) ([]Call, error) {
	for {
		p.mu.Lock()
		calls := p.of(job)
		ch := p.changed
		p.mu.Unlock()
		if cond(calls) {
			return calls, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return calls, ctx.Err()
		}
	}
}

func (p *probe) of(job string) []Call {
	var out []Call
	for _, c := range p.calls {
		if c.Job == job {
			out = append(out, c)
		}
	}
	return slices.Clip(out)
}
