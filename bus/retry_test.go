package bus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/rs/zerolog"
)

func TestTransient(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("nats: JetStream is not available: %w", context.DeadlineExceeded), true},
		{nats.ErrNoResponders, true},
		{&jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}, true},
		{&jetstream.APIError{Code: 400, ErrorCode: 10005, Description: "insufficient storage"}, false},
		{&jetstream.APIError{Code: 409, ErrorCode: 10158, Description: "duplicate message id is in process"}, true},
		{nats.ErrAuthorization, false},
		{errors.New("frames: bad"), false},
	} {
		if got := bus.Transient(c.err); got != c.want {
			t.Errorf("Transient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// Transient errors are retried until the call succeeds; a permanent one is
// returned at once; the total bound is kept.
func TestRetryPolicy(t *testing.T) {
	p := bus.RetryPolicy{Initial: time.Millisecond, Max: 5 * time.Millisecond, Total: 200 * time.Millisecond}
	calls := 0
	err := p.Do(t.Context(), zerolog.Nop(), "x", func(context.Context) error {
		if calls++; calls < 3 {
			return nats.ErrNoResponders
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
	calls = 0
	perm := errors.New("permanent")
	if err := p.Do(t.Context(), zerolog.Nop(), "x", func(context.Context) error { calls++; return perm }); !errors.Is(err, perm) || calls != 1 {
		t.Fatalf("permanent: %v after %d calls", err, calls)
	}
	start := time.Now()
	err = p.Do(t.Context(), zerolog.Nop(), "x", func(context.Context) error { return nats.ErrTimeout })
	if !errors.Is(err, nats.ErrTimeout) || time.Since(start) > time.Second {
		t.Fatalf("bounded: %v after %s", err, time.Since(start))
	}
}
