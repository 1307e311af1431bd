package bus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
)

// BenchmarkServerShutdown times the embedded server's Shutdown with n
// durable consumers on a file-backed stream (the layout `reel generate`
// runs has seven). nats-server v2.15 stops each consumer's state store with
// a 10 ms poll of its flusher goroutine (consumerFileStore.waitOnFlusher),
// which has not yet seen its quit channel when first checked, so every
// consumer costs one poll, one after another: about 10.5 ms a consumer here
// (BENCHMARKS.md, "Per-job tail"). Should upstream wait on a channel instead,
// the cost per consumer falls to microseconds; run this after an upgrade.
//
//	go test ./bus -run '^$' -bench BenchmarkServerShutdown -benchtime 5x
func BenchmarkServerShutdown(b *testing.B) {
	for _, n := range []int{0, 7, 14} {
		b.Run(fmt.Sprintf("consumers=%d", n), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				s := serverWithConsumers(b, n)
				b.StartTimer()
				s.Shutdown()
			}
		})
	}
}

// serverWithConsumers starts an embedded server with one file-backed stream
// and n durable consumers on it, then disconnects.
func serverWithConsumers(b *testing.B, n int) *bus.Server {
	b.Helper()
	s, err := bus.StartServer(bus.ServerConfig{DataDir: b.TempDir(), DontListen: true}, bustest.Logger(b))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := bus.Connect(ctx, bus.ConnectConfig{InProcess: s, Name: b.Name()}, bustest.Logger(b))
	if err != nil {
		s.Shutdown()
		b.Fatal(err)
	}
	defer c.Close()
	st, err := c.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "B", Subjects: []string{"b.>"}, Storage: jetstream.FileStorage})
	if err == nil {
		for i := range n {
			if _, err = st.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: fmt.Sprintf("c%d", i), AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
				break
			}
		}
	}
	if err != nil {
		s.Shutdown()
		b.Fatal(err)
	}
	return s
}
