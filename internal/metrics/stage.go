package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages"
)

// stageOf is the stage that consumes a subject's kind of message.
func stageOf(subject string) string {
	s, err := protocol.ParseSubject(subject)
	if err != nil {
		return "unknown"
	}
	for _, spec := range protocol.Pipeline() {
		if spec.Input == s.Kind {
			return spec.Name
		}
	}
	return "unknown"
}

// outcome names how a handler ended, as the runner will settle it.
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
	case stages.IsRetryLater(err):
		return "later"
	case stages.IsPermanent(err):
		return "failed"
	}
	return "retry"
}

// Middleware measures every handled message: duration by stage and
// outcome, in-flight count, redeliveries, each denoise step (from its step
// events) and each decoded chunk.
func (m *Metrics) Middleware() stages.Middleware {
	return func(next stages.Handler) stages.Handler {
		return stages.HandlerFunc(func(ctx context.Context, d stages.Delivery) error {
			stage := stageOf(d.Subject())
			if d.Attempt() > 1 {
				m.redeliveries.WithLabelValues(stage).Inc()
			}
			g := m.inFlight.WithLabelValues(stage)
			g.Inc()
			defer g.Dec()
			start := time.Now()
			err := next.Handle(ctx, &timedDelivery{Delivery: d, m: m, last: start})
			took := time.Since(start).Seconds()
			m.handleSeconds.WithLabelValues(stage, outcome(err)).Observe(took)
			if err == nil && stage == protocol.StageVAEDecode {
				m.chunkSeconds.Observe(took)
			}
			return err
		})
	}
}

// timedDelivery times the gaps between a sampler's step events.
type timedDelivery struct {
	stages.Delivery
	m    *Metrics
	last time.Time
}

func (d *timedDelivery) Report(ctx context.Context, ev protocol.Event) {
	if ev.Kind == protocol.EventStep {
		now := time.Now()
		d.m.stepSeconds.Observe(now.Sub(d.last).Seconds())
		d.last = now
	}
	d.Delivery.Report(ctx, ev)
}
