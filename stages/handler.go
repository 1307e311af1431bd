package stages

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Handler does one stage's work for one message.
type Handler interface {
	Handle(ctx context.Context, d Delivery) error
}

// HandlerFunc adapts a function.
type HandlerFunc func(ctx context.Context, d Delivery) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, d Delivery) error { return f(ctx, d) }

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
		return HandlerFunc(func(ctx context.Context, d Delivery) (err error) {
			defer func() {
				if r := recover(); r != nil {
					d.Log().Error().Str("stack", string(debug.Stack())).Msgf("handler panic: %v", r)
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
		return HandlerFunc(func(ctx context.Context, d Delivery) error {
			start := time.Now()
			d.Log().Debug().Int("delivery", d.Attempt()).Msg("start")
			err := next.Handle(ctx, d)
			ev := d.Log().Info()
			if err != nil {
				ev = d.Log().Warn().Err(err)
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
		return HandlerFunc(func(ctx context.Context, d Delivery) error {
			eb := backoff.NewExponentialBackOff()
			eb.InitialInterval, eb.MaxInterval = r.Initial, r.Max
			pol := backoff.WithContext(backoff.WithMaxRetries(eb, uint64(r.MaxRetries)), ctx)
			return backoff.RetryNotify(func() error {
				err := next.Handle(ctx, d)
				if err == nil || IsPermanent(err) || ctx.Err() != nil || IsRetryLater(err) {
					return backoff.Permanent(err)
				}
				return err
			}, pol, func(err error, wait time.Duration) {
				d.Log().Warn().Err(err).Dur("wait", wait).Msg("retrying in-process")
			})
		})
	}
}
