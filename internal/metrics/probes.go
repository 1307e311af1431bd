package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
)

// Check is one readiness condition; nil means ready.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Connected is ready while the NATS connection is up.
func Connected(b *bus.Bus) Check {
	return Check{"connected", func(context.Context) error {
		if st := b.NC.Status(); st != nats.CONNECTED {
			return fmt.Errorf("nats %s", st)
		}
		return nil
	}}
}

// ConsumerAttached is ready while the server answers for the stage's
// durable consumer.
func ConsumerAttached(b *bus.Bus, stage string) Check {
	return Check{"consumer " + protocol.ConsumerName(stage), func(ctx context.Context) error {
		c, err := b.Stream.Consumer(ctx, protocol.ConsumerName(stage))
		if err != nil {
			return err
		}
		_, err = c.Info(ctx)
		return err
	}}
}

// Flag is a readiness condition set once by the process (e.g. the engine
// loaded).
type Flag struct {
	name string
	set  atomic.Bool
}

// NewFlag returns an unset flag.
func NewFlag(name string) *Flag { return &Flag{name: name} }

// Set marks the condition met.
func (f *Flag) Set() { f.set.Store(true) }

// Check is the flag as a readiness check.
func (f *Flag) Check() Check {
	return Check{f.name, func(context.Context) error {
		if !f.set.Load() {
			return errors.New("not yet")
		}
		return nil
	}}
}

// Probes serves /healthz (the process is alive), /readyz (every check
// passes; 503 naming the failing ones otherwise) and /metrics.
type Probes struct {
	Metrics *Metrics
	Checks  []Check
}

// Handler is the probes' mux.
func (p *Probes) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := p.Ready(r.Context()); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	if p.Metrics != nil {
		mux.Handle("GET /metrics", p.Metrics.Handler())
	}
	return mux
}

// Ready runs every check (each bounded to two seconds).
func (p *Probes) Ready(ctx context.Context) error {
	var failed []string
	for _, c := range p.Checks {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := c.Check(cctx)
		cancel()
		if err != nil {
			failed = append(failed, c.Name+": "+err.Error())
		}
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

// Serve listens on addr until ctx ends; ready, if set, gets the bound
// address.
func (p *Probes) Serve(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	srv := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
