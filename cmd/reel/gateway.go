package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/metrics"
	"github.com/reel-video/reel/model"
	"github.com/spf13/cobra"
)

type gatewayFlags struct {
	nats    natsFlags
	api     apiFlags
	metrics metricsFlags
	weights weightFlags
}

func newGatewayCommand(a *app) *cobra.Command {
	f := &gatewayFlags{}
	cmd := &cobra.Command{
		Use:   "gateway --nats URL --api ADDR",
		Short: "Serve the HTTP API (OpenAI Videos shape), web UI and /metrics for a cluster",
		Long: `Gateway serves the HTTP API and the web UI in front of any reel bus, with no
stage in this process: it publishes prompts and reads job records and events
like every other client, so any number of gateways can run side by side.
Beyond loopback it needs API keys (--api-key-file, or $` + "REEL_API_KEYS" + `).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runGateway(cmd.Context(), a, f, cmd) },
	}
	fs := cmd.Flags()
	f.nats.register(fs)
	f.api.register(fs, "127.0.0.1:8080")
	f.metrics.register(fs)
	f.weights.register(fs)
	return cmd
}

func runGateway(ctx context.Context, a *app, f *gatewayFlags, cmd *cobra.Command) error {
	if !f.api.enabled() {
		return errors.New("--api: a gateway needs an address")
	}
	keys, err := f.api.check()
	if err != nil {
		return err
	}
	log, err := a.logger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	// The manifest of the model the stages serve checks requests at intake
	// (until worker heartbeats carry it).
	eng, err := model.Load(f.weights.opts)
	if err != nil {
		return fmt.Errorf("load model: %w", err)
	}
	f.nats.cc.Name = "reel gateway"
	bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	b, err := bus.Open(bctx, f.nats.cc, bus.LayoutConfig{}, log)
	if err != nil {
		return connectHint(err, f.nats.cc.URL)
	}
	defer b.Close()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	m := metrics.New()
	m.WatchBus(b, protocol.Stages(), true)
	if err := m.WatchJobs(ctx, b.Jobs); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return err
	}
	f.metrics.serveProbes(ctx, &metrics.Probes{Metrics: m, Checks: []metrics.Check{metrics.Connected(b)}}, cmd.OutOrStdout(), log, stop)
	err = serveAPI(ctx, &f.api, keys, b, []protocol.Manifest{eng.Manifest()}, m.Handler(), log, cmd.OutOrStdout())
	if err != nil && ctx.Err() != nil {
		err = nil // stopped while starting
	}
	if err == nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			err = cause
		}
	}
	return err
}
