// Package pull serves a durable JetStream pull consumer one message at a time
// and attaches to it again whenever the pull stops while the caller still
// wants it (the consumer was deleted by an operator or with its stream,
// heartbeats went missing, the iterator closed). The stage runner's slots and
// the orchestrator's dead-letter handler both use it, so neither silently
// stops serving while its process looks alive.
package pull

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Options configure Serve.
type Options struct {
	// Name names the consumer in log lines and errors (required).
	Name string
	// Attach looks up or creates the durable consumer (required).
	Attach func(ctx context.Context) (jetstream.Consumer, error)
	// Consumer, if set, is already attached: Serve pulls from it first and
	// only calls Attach after losing it. If nil, Serve attaches first and
	// returns that first attach's error.
	Consumer jetstream.Consumer
	// Handle handles (and settles) one message (required).
	Handle func(ctx context.Context, m jetstream.Msg)
	// Log gets a warning line for each lost pull and failed re-attach.
	Log zerolog.Logger
	// MinDelay and MaxDelay bound the exponential backoff between attaches;
	// defaults 200ms and 5s (a lost server is attached to again soon after it
	// is back).
	MinDelay, MaxDelay time.Duration
	// Batch is how many messages a pull asks for; 0 means 1. Only 1
	// prefetches nothing, as a consumer shared by workers needs (a message
	// prefetched by a busy worker waits while another sits idle). A
	// consumer whose MaxAckPending already holds back delivery (the
	// projector's, 1) can ask for more: the server still sends one
	// message at a time, and the client then no longer sends a pull
	// request after each message.
	Batch int
}

// Serve pulls messages (one at a time unless Options.Batch says otherwise:
// nothing is prefetched) and hands them to Handle one by one, until ctx
// ends (nil). When the pull
// stops while ctx lives it attaches again with exponential backoff, and
// retries a failed re-attach the same way. Only a failed first attach (when
// Options.Consumer is nil) and a closed connection end it with an error.
func Serve(ctx context.Context, o Options) error {
	if o.MinDelay <= 0 {
		o.MinDelay = 200 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 5 * time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 1
	}
	bo := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(o.MinDelay),
		backoff.WithMaxInterval(o.MaxDelay),
		backoff.WithMaxElapsedTime(0), // never give up; only ctx ends it
	)
	cons := o.Consumer
	if cons == nil {
		c, err := o.Attach(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		cons = c
	}
	for {
		got, err := serve(ctx, cons, o.Batch, o.Handle)
		if ctx.Err() != nil {
			return nil
		}
		if closed(err) {
			return fmt.Errorf("%s: %w", o.Name, err)
		}
		if got {
			bo.Reset() // it served: the next loss starts from MinDelay again
		}
		cons = nil
		for cons == nil {
			delay := bo.NextBackOff()
			o.Log.Warn().Err(err).Str("consumer", o.Name).Dur("retry_in", delay).Msg("pull stopped; attaching to the consumer again")
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			if cons, err = o.Attach(ctx); err != nil {
				cons = nil
				if ctx.Err() != nil {
					return nil
				}
				if closed(err) {
					return fmt.Errorf("%s: %w", o.Name, err)
				}
			}
		}
		o.Log.Info().Str("consumer", o.Name).Msg("attached to the consumer again")
	}
}

// serve pulls from cons until ctx ends or the pull stops; got reports
// whether any message arrived. A consumer deleted while a pull waits ends the
// iterator (ErrConsumerDeleted); one deleted between pulls only shows as
// missing heartbeats (ErrNoHeartbeat, reported by default for Messages).
func serve(ctx context.Context, cons jetstream.Consumer, batch int, handle func(context.Context, jetstream.Msg)) (got bool, err error) {
	it, err := cons.Messages(jetstream.PullMaxMessages(batch), jetstream.WithMessagesErrOnMissingHeartbeat(true))
	if err != nil {
		return false, err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		m, err := it.Next()
		if err != nil {
			return got, err
		}
		got = true
		handle(ctx, m)
	}
}

// closed reports a closed connection (the iterator's or a request's error):
// it never comes back, so attaching again cannot help.
func closed(err error) bool {
	return errors.Is(err, jetstream.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionClosed)
}
