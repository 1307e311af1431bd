package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
)

// inProcessJS answers the first publishes with the "in process" errors a
// clustered stream gives a publish racing another on the same subject.
type inProcessJS struct {
	jetstream.JetStream
	code      jetstream.ErrorCode
	conflicts int
}

func (j *inProcessJS) PublishMsg(ctx context.Context, m *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if j.conflicts > 0 {
		j.conflicts--
		return nil, &jetstream.APIError{Code: 409, ErrorCode: j.code, Description: "in process"}
	}
	return j.JetStream.PublishMsg(ctx, m, opts...)
}

// PublishOnce waits out an "in process" answer and reports the verdict that
// follows: published, or already there.
func TestPublishOnceRetriesInProcessConflicts(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	ctx := bustest.Ctx(t, 30*time.Second)
	orig := b.JS
	publish := func(subject string) (bool, error) {
		env := &protocol.Envelope{Job: "j1", Stage: "denoise", Settings: protocol.DefaultSettings(), Count: 3}
		_ = env.SetBody(protocol.LatentBody{Latent: protocol.F32Tensor([]float32{1}, 1)})
		return b.PublishOnce(ctx, subject, env)
	}
	for _, c := range []struct {
		name      string
		code      jetstream.ErrorCode
		conflicts int
		subject   string
		wantDup   bool
		wantErr   bool
	}{
		{"msg id in process, then stored", 10158, 2, protocol.LatentSubject("j1", 0), false, false},
		{"subject in process, then already there", jetstream.JSErrCodeStreamWrongLastSequenceConstant, 3, protocol.LatentSubject("j1", 0), true, false},
		{"never settles", 10158, 100, protocol.LatentSubject("j1", 1), false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			b.JS = &inProcessJS{JetStream: orig, code: c.code, conflicts: c.conflicts}
			defer func() { b.JS = orig }()
			dup, err := publish(c.subject)
			var apiErr *jetstream.APIError
			if c.wantErr != (err != nil) || (err != nil && !errors.As(err, &apiErr)) || dup != c.wantDup {
				t.Fatalf("duplicate %v, err %v; want duplicate %v, error %v", dup, err, c.wantDup, c.wantErr)
			}
		})
	}
}
