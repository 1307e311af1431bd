package stages

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/rs/zerolog"
)

// Handler does one stage's work for one message.
type Handler interface {
	Handle(ctx context.Context, d *Delivery) error
}

// HandlerFunc adapts a function.
type HandlerFunc func(ctx context.Context, d *Delivery) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, d *Delivery) error { return f(ctx, d) }

// Middleware wraps a handler (retry, recover, logging, ...).
type Middleware func(Handler) Handler

// Chain applies middleware so that the first one is outermost.
func Chain(h Handler, mw ...Middleware) Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// Recoverer turns a panic in a handler into a permanent error (the job fails
// with the panic and the stage keeps serving).
func Recoverer() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, d *Delivery) (err error) {
			defer func() {
				if r := recover(); r != nil {
					d.Log.Error().Str("stack", string(debug.Stack())).Msgf("handler panic: %v", r)
					err = Permanent(fmt.Errorf("panic: %v", r))
				}
			}()
			return next.Handle(ctx, d)
		})
	}
}

// Logging logs each message's outcome and duration with the job id.
func Logging() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, d *Delivery) error {
			start := time.Now()
			d.Log.Debug().Int("delivery", d.NumDelivered).Msg("start")
			err := next.Handle(ctx, d)
			ev := d.Log.Info()
			if err != nil {
				ev = d.Log.Warn().Err(err)
			}
			ev.Dur("took", time.Since(start)).Msg("handled")
			return err
		})
	}
}

// Retry retries transient handler errors in-process with exponential backoff
// before the message goes back to the server (Watermill's Retry middleware).
type Retry struct {
	MaxRetries int           // default 2
	Initial    time.Duration // default 200ms
	Max        time.Duration // default 5s
}

// Middleware returns the retry middleware.
func (r Retry) Middleware() Middleware {
	if r.MaxRetries == 0 {
		r.MaxRetries = 2
	}
	if r.Initial == 0 {
		r.Initial = 200 * time.Millisecond
	}
	if r.Max == 0 {
		r.Max = 5 * time.Second
	}
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, d *Delivery) error {
			eb := backoff.NewExponentialBackOff()
			eb.InitialInterval, eb.MaxInterval = r.Initial, r.Max
			pol := backoff.WithContext(backoff.WithMaxRetries(eb, uint64(r.MaxRetries)), ctx)
			return backoff.RetryNotify(func() error {
				err := next.Handle(ctx, d)
				if err == nil || IsPermanent(err) || ctx.Err() != nil || isRetryLater(err) {
					return backoff.Permanent(err)
				}
				return err
			}, pol, func(err error, wait time.Duration) {
				d.Log.Warn().Err(err).Dur("wait", wait).Msg("retrying in-process")
			})
		})
	}
}

// Delivery is one message being handled, with what a handler needs.
type Delivery struct {
	Subject      string
	Env          *protocol.Envelope // body resolved (claim checks fetched)
	NumDelivered int
	Worker       string
	Stage        string
	Log          zerolog.Logger // carries job, stage, chunk

	msg jetstream.Msg
	r   *Runner
}

// Bus is the bus the runner serves.
func (d *Delivery) Bus() *bus.Bus { return d.r.cfg.Bus }

// Heartbeat tells the server the message is still being worked on.
func (d *Delivery) Heartbeat() {
	if err := d.msg.InProgress(); err != nil {
		d.Log.Debug().Err(err).Msg("in-progress")
	}
}

// Report records a progress event for the job (and heartbeats).
func (d *Delivery) Report(ctx context.Context, ev protocol.Event) {
	d.Heartbeat()
	ev.Job, ev.Stage, ev.Worker = d.Env.Job, d.Stage, d.Worker
	if err := d.r.cfg.Tracker.Record(ctx, ev); err != nil && ctx.Err() == nil {
		d.Log.Warn().Err(err).Str("event", ev.Kind).Msg("record event")
	}
}

// Publish writes a stage output on a write-once subject; a re-run handler's
// duplicate is dropped. The envelope inherits job, settings and attempt.
func (d *Delivery) Publish(ctx context.Context, subject string, env *protocol.Envelope) error {
	env.Job, env.Stage, env.Attempt = d.Env.Job, d.Stage, d.NumDelivered
	if env.Settings == (protocol.Settings{}) {
		env.Settings = d.Env.Settings
	}
	dup, err := d.r.cfg.Bus.PublishOnce(ctx, subject, env)
	if err != nil {
		return err
	}
	if dup {
		d.Log.Debug().Str("subject", subject).Msg("output already published (re-run); kept the first")
	}
	return nil
}
