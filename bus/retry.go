package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// RetryPolicy is how a client call rides through a JetStream leader
// election or a node restart: transient errors are retried with doubling
// waits from Initial up to Max, for at most Total (and never past the
// caller's context). Anything else is returned at once.
type RetryPolicy struct {
	Initial, Max, Total time.Duration
	// Attempt, if set, bounds each attempt: a JetStream API request sent
	// while there is no leader is dropped, not answered, so waiting on it
	// longer than an election takes only delays the retry that succeeds.
	Attempt time.Duration
}

// ClientRetry is the policy of the client commands: an election on a
// three-node cluster settles within a few seconds; a minute covers a node
// restart.
var ClientRetry = RetryPolicy{Initial: 200 * time.Millisecond, Max: 2 * time.Second, Total: time.Minute}

// OpenRetry is the policy of connecting and attaching to the layout:
// ClientRetry with each attempt bounded.
var OpenRetry = RetryPolicy{Initial: 200 * time.Millisecond, Max: 2 * time.Second, Total: time.Minute, Attempt: 4 * time.Second}

// jetstream API error codes that mean "no leader right now".
const (
	errCodeClusterNotAvail  jetstream.ErrorCode = 10008 // JetStream system temporarily unavailable
	errCodeClusterNotActive jetstream.ErrorCode = 10006
	errCodeStreamOffline    jetstream.ErrorCode = 10118
	errCodeConsumerOffline  jetstream.ErrorCode = 10119
)

// Transient reports errors a retry can outlive: timeouts, no responders
// (the JetStream API has no leader), a connection reconnecting, the
// cluster-unavailable API errors, and a publish racing another with its
// message id. Auth and validation errors are not.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case errCodeClusterNotAvail, errCodeClusterNotActive, errCodeStreamOffline, errCodeConsumerOffline:
			return true
		case errCodeDuplicateInProcess:
			// Another publish with the same Nats-Msg-Id is being stored:
			// asking again gets its verdict (a duplicate ack), or stores
			// this one if that write failed.
			return true
		}
		return apiErr.Code == 503 || apiErr.Code == 408
	}
	for _, e := range []error{context.DeadlineExceeded, nats.ErrTimeout, nats.ErrNoResponders,
		jetstream.ErrNoHeartbeat, jetstream.ErrJetStreamNotEnabled, nats.ErrJetStreamNotEnabled,
		nats.ErrConnectionReconnecting, nats.ErrDisconnected, nats.ErrNoServers, nats.ErrStaleConnection,
		jetstream.ErrConsumerLeadershipChanged, jetstream.ErrServerShutdown} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Do calls fn until it succeeds, fails with a non-transient error, ctx
// ends or the policy's Total is spent; each attempt gets the remaining
// time. The last error is returned, saying how long it was retried.
func (p RetryPolicy) Do(ctx context.Context, log zerolog.Logger, what string, fn func(ctx context.Context) error) error {
	start := time.Now()
	wait := p.Initial
	for attempt := 1; ; attempt++ {
		err := p.attempt(ctx, fn)
		if err == nil || !Transient(err) || ctx.Err() != nil {
			return err
		}
		if time.Since(start)+wait > p.Total {
			return fmt.Errorf("%s: gave up after %d attempts in %s: %w", what, attempt, time.Since(start).Round(time.Millisecond), err)
		}
		log.Warn().Err(err).Int("attempt", attempt).Dur("retry_in", wait).Msg(what + ": transient error; retrying")
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, p.Max)
	}
}

func (p RetryPolicy) attempt(ctx context.Context, fn func(ctx context.Context) error) error {
	if p.Attempt <= 0 {
		return fn(ctx)
	}
	actx, cancel := context.WithTimeout(ctx, p.Attempt)
	defer cancel()
	return fn(actx)
}
