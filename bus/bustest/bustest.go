// Package bustest starts a real embedded nats-server with JetStream for tests.
package bustest

import (
	"context"
	"testing"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/internal/envconfig"
	"github.com/rs/zerolog"
)

// Options tune the test server.
type Options struct {
	MaxPayload int32
	Layout     bus.LayoutConfig
	DataDir    string // default t.TempDir()
}

// Logger is a test logger (silent unless REEL_TEST_LOG=1).
func Logger(t testing.TB) zerolog.Logger {
	if envconfig.Bool(envconfig.TestLog) {
		return zerolog.New(zerolog.NewTestWriter(t)).With().Timestamp().Logger()
	}
	return zerolog.Nop()
}

// Server starts an embedded server on a random loopback port; it is shut
// down when the test ends.
func Server(t testing.TB, o Options) *bus.Server {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	s, err := bus.StartServer(bus.ServerConfig{DataDir: o.DataDir, Port: -1, MaxPayload: o.MaxPayload, MaxStore: 1 << 30}, Logger(t))
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// Open connects a bus client to s; closed when the test ends.
func Open(t testing.TB, s *bus.Server, lc bus.LayoutConfig) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Provision(ctx, bus.ConnectConfig{URL: s.ClientURL(), Name: t.Name()}, s.Fit(lc), Logger(t))
	if err != nil {
		t.Fatalf("open bus: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// Start is Server + Open.
func Start(t testing.TB, o Options) (*bus.Server, *bus.Bus) {
	if o.Layout.MaxBytes == 0 {
		o.Layout.MaxBytes = 64 << 20
	}
	s := Server(t, o)
	return s, Open(t, s, o.Layout)
}

// Ctx is a test context with a deadline.
func Ctx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
