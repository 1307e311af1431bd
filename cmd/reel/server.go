package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/envconfig"
	"github.com/reel-video/reel/internal/metrics"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/pipeline"
	"github.com/reel-video/reel/stages/worker"
	"github.com/spf13/cobra"
)

type serverFlags struct {
	srv      bus.ServerConfig
	layout   layoutFlags
	replicas string
	password secretSource
	encode   encodeFlags
	weights  weightFlags
	engine   engineFlags
	res      resourceFlags
	api      apiFlags
	metrics  metricsFlags
}

func newServerCommand(a *app) *cobra.Command {
	f := &serverFlags{}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the embedded NATS server (JetStream) for stages and clients, optionally with stages",
		Long: `Server runs nats-server with JetStream on --host:--port, storing under --data,
and sets up reel's streams, buckets and consumers. It also runs every stage in
this process unless --replicas says otherwise, e.g. --replicas
textenc=1,denoise=1,vaedecode=3,encode=1, or --replicas none for a bare bus.
Other machines attach with 'reel stage X --nats nats://HOST:PORT'. The HTTP
API (OpenAI Videos shape) and web UI listen on --api.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServer(cmd.Context(), a, f, cmd) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.srv.Host, "host", bus.DefaultHost, "listen address (0.0.0.0 for other machines: set --user/--password or --token)")
	fs.IntVar(&f.srv.Port, "port", bus.DefaultPort, "client port (-1: any free port)")
	fs.StringVar(&f.srv.DataDir, "data", defaultDataDir(), "data directory (JetStream store; locked while running)")
	fs.Int64Var(&f.srv.MaxMemory, "js-max-memory", bus.DefaultMaxMemory, "JetStream memory limit (bytes)")
	fs.Int64Var(&f.srv.MaxStore, "js-max-store", bus.DefaultMaxStore, "JetStream disk limit (bytes)")
	fs.Int32Var(&f.srv.MaxPayload, "max-payload", bus.DefaultMaxPayload, "max message payload (bytes); bigger bodies go through the object store")
	fs.IntVar(&f.srv.HTTPPort, "http-port", 0, "monitoring port (/jsz for KEDA); 0 = off")
	fs.StringVar(&f.srv.HTTPHost, "http-host", "127.0.0.1", "monitoring address: loopback only, since the monitoring port has no auth (/connz, /jsz)")
	fs.StringVar(&f.srv.User, "user", "", "require this client user")
	f.password = secretSource{flag: "password", file: "password-file", env: envconfig.ServerPassword}
	fs.StringVar(&f.password.flagVal, "password", "", "password of --user (visible in ps: prefer --password-file or $REEL_SERVER_PASSWORD)")
	fs.StringVar(&f.password.fileVal, "password-file", "", "file holding the password of --user (env REEL_SERVER_PASSWORD)")
	fs.StringVar(&f.srv.Token, "token", "", "require this client token")
	fs.StringVar(&f.srv.TLSCert, "tls-cert", "", "serve TLS with this certificate (PEM)")
	fs.StringVar(&f.srv.TLSKey, "tls-key", "", "key of --tls-cert (PEM)")
	fs.StringVar(&f.srv.TLSCA, "tls-ca", "", "require client certificates signed by this CA (mutual TLS)")
	fs.StringVar(&f.replicas, "replicas", replicasAll, `stages to run here: "all", "none" or stage=N,... (e.g. vaedecode=3,denoise=1)`)
	f.encode.register(fs)
	f.layout.register(fs)
	f.weights.register(fs)
	f.engine.register(fs)
	f.res.register(fs)
	f.api.register(fs, "127.0.0.1:8080")
	f.metrics.register(fs)
	return cmd
}

func runServer(ctx context.Context, a *app, f *serverFlags, cmd *cobra.Command) error {
	reps, err := parseReplicas(f.replicas)
	if err != nil {
		return err
	}
	if err := f.encode.validate(); err != nil {
		return err
	}
	keys, err := f.api.check()
	if err != nil {
		return err
	}
	log, err := a.logger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	if f.srv.Password, err = f.password.resolve(cmd.ErrOrStderr()); err != nil {
		return err
	}
	// The API checks requests against the model's manifest, read from the
	// checkpoints before the server starts; no model is loaded for it. The
	// in-process stages' engines load their stages' models only (none for a
	// bare bus), once the bus is up.
	manifest, err := model.Describe(f.weights.opts)
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	srv, err := bus.StartServer(f.srv, log)
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	b, err := bus.Provision(bctx, bus.ConnectConfig{InProcess: srv, Name: "reel server", User: f.srv.User, Password: f.srv.Password, Token: f.srv.Token}, f.layout.lc, log)
	if err != nil {
		return err
	}
	defer b.Close()
	var res pipeline.Resources
	if len(reps) > 0 {
		r, closeRes, err := f.res.setup(ctx, log)
		if err != nil {
			return err
		}
		defer closeRes()
		res = r
	}
	log.Info().Str("url", srv.ClientURL()).Str("data", f.srv.DataDir).Msg("reel server ready")
	fmt.Fprintln(cmd.OutOrStdout(), srv.ClientURL())
	// The stages' engines: the Go engine, or runners.
	engs, err := f.engine.startEngines(ctx, slices.Collect(maps.Keys(reps)), f.weights.opts, res.RunnerDevice, log)
	if err != nil {
		return err
	}
	defer engs.Close()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	m := metrics.New()
	res.Describe = m.Describe(res.Describe)
	m.WatchBus(b, protocol.Stages(), true)
	if err := m.WatchJobs(ctx, b.Jobs); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return err
	}
	checks := []metrics.Check{metrics.Connected(b)}
	for st := range reps {
		checks = append(checks, metrics.ConsumerAttached(b, st))
	}
	f.metrics.serveProbes(ctx, &metrics.Probes{Metrics: m, Checks: checks}, cmd.OutOrStdout(), log, stop)
	go warnIdleStages(ctx, b, log, srv.ClientURL())
	var wg sync.WaitGroup
	if f.api.enabled() {
		wg.Go(func() {
			if err := serveAPI(ctx, &f.api, keys, b, []protocol.Manifest{manifest}, m.Handler(), log, cmd.OutOrStdout()); err != nil && ctx.Err() == nil {
				stop(err)
			}
		})
	}
	err = pipeline.Run(ctx, pipeline.Options{
		Bus: b, Stages: reps, DeadLetters: true, Output: f.encode.o, Engines: engs, Log: log, Resources: res,
		Middleware: []stages.Middleware{m.Middleware()},
		Started: func(rs []*worker.Runner) {
			for _, r := range rs {
				log.Info().Str("worker", r.Worker()).Msg("stage started")
			}
		},
	})
	stop(err)
	wg.Wait()
	log.Info().Msg("shutting down")
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	b.ForgetStoppedPulls(qctx) // the embedded server's shutdown (deferred) then skips a 50 ms sleep
	cancel()
	if err == nil {
		err = context.Cause(ctx)
		if errors.Is(err, context.Canceled) {
			err = nil
		}
	}
	return err
}
