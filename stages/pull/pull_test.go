package pull

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus/bustest"
)

// TestBatchSparesPullRequests serves a consumer that lets one message out
// at a time (MaxAckPending 1, like the projector's) with pulls of one and
// of 64, counting the pull requests on the wire with a plain subscription
// to the consumer's next-message subject. Both hand every message over in
// stream order; a pull of one asks again after every message (40 pulls for
// 40 messages when this was written), a pull of 64 only a few times (2).
func TestBatchSparesPullRequests(t *testing.T) {
	const n = 40
	for _, tc := range []struct {
		batch              int
		minPulls, maxPulls int
	}{
		{batch: 1, minPulls: n / 2, maxPulls: 2 * n},
		{batch: 64, minPulls: 1, maxPulls: n / 4},
	} {
		t.Run(fmt.Sprintf("batch %d", tc.batch), func(t *testing.T) {
			srv := bustest.Server(t, bustest.Options{})
			ctx := bustest.Ctx(t, 60*time.Second)
			nc, err := nats.Connect(srv.ClientURL())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "P", Subjects: []string{"p.>"}})
			if err != nil {
				t.Fatal(err)
			}
			cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "c",
				AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 1})
			if err != nil {
				t.Fatal(err)
			}
			var pulls atomic.Int64
			spy, err := nc.Subscribe("$JS.API.CONSUMER.MSG.NEXT.P.c", func(*nats.Msg) { pulls.Add(1) })
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = spy.Unsubscribe() }()
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				if _, err := js.Publish(ctx, fmt.Sprintf("p.%d", i), nil); err != nil {
					t.Fatal(err)
				}
			}

			sctx, stop := context.WithCancel(ctx)
			defer stop()
			var mu sync.Mutex
			var got []string
			all := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				done <- Serve(sctx, Options{Name: "c", Consumer: cons, Batch: tc.batch,
					Attach: func(ctx context.Context) (jetstream.Consumer, error) { return st.Consumer(ctx, "c") },
					Handle: func(_ context.Context, m jetstream.Msg) {
						mu.Lock()
						got = append(got, m.Subject())
						if len(got) == n {
							close(all)
						}
						mu.Unlock()
						if err := m.Ack(); err != nil {
							t.Error(err)
						}
					}})
			}()
			select {
			case <-all:
			case <-ctx.Done():
				t.Fatalf("handled %d of %d messages", len(got), n)
			}
			stop()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			for i, s := range got {
				if want := fmt.Sprintf("p.%d", i); s != want {
					t.Fatalf("message %d is %s, want %s (stream order)", i, s, want)
				}
			}
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			if p := int(pulls.Load()); p < tc.minPulls || p > tc.maxPulls {
				t.Errorf("%d pull requests for %d messages, want %d..%d", p, n, tc.minPulls, tc.maxPulls)
			}
		})
	}
}
