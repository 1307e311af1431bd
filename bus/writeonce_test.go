package bus_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
)

// The server itself keeps every REEL subject write-once, for a publisher
// that sets no headers at all (a plain `nats pub`): the second message on
// a subject is refused and the first one stays.
func TestStreamRefusesSecondMessageOnASubject(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	ctx := bustest.Ctx(t, 30*time.Second)
	subject := protocol.PromptSubject("j1")
	if _, err := b.JS.Publish(ctx, subject, []byte(`{"prompt":"first"}`)); err != nil {
		t.Fatal(err)
	}
	_, err := b.JS.Publish(ctx, subject, []byte(`{"prompt":"second"}`))
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || !strings.Contains(apiErr.Description, "maximum messages per subject exceeded") {
		t.Fatalf("second publish: %v, want the per-subject limit", err)
	}
	m, err := b.Stream.GetLastMsgForSubject(ctx, subject)
	if err != nil || string(m.Data) != `{"prompt":"first"}` {
		t.Fatalf("kept %q, %v", m.Data, err)
	}
}

// noHeadersJS publishes without PublishOnce's Nats-Msg-Id and expected
// sequence, so only the stream's per-subject limit stands in the way.
type noHeadersJS struct{ jetstream.JetStream }

func (j noHeadersJS) PublishMsg(ctx context.Context, m *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	return j.JetStream.PublishMsg(ctx, m)
}

// PublishOnce reads the per-subject refusal as "already there".
func TestPublishOnceTakesPerSubjectRefusalAsDuplicate(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	ctx := bustest.Ctx(t, 30*time.Second)
	b.JS = noHeadersJS{b.JS}
	subject := protocol.TextSubject("j1")
	for i, wantDup := range []bool{false, true} {
		env := &protocol.Envelope{Job: "j1", Stage: protocol.StageTextEnc, Settings: protocol.DefaultSettings()}
		_ = env.SetBody(protocol.TextBody{})
		dup, err := b.PublishOnce(ctx, subject, env)
		if err != nil || dup != wantDup {
			t.Fatalf("publish %d: duplicate %v, %v; want duplicate %v", i, dup, err, wantDup)
		}
	}
}
