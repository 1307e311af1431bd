package main

import (
	"context"
	"fmt"
	"time"

	"github.com/reel-video/reel/bus"
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
}

func newServerCommand(a *app) *cobra.Command {
	f := &serverFlags{}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the embedded NATS server (JetStream) for stages and clients, optionally with stages",
		Long: `Server runs nats-server with JetStream on --host:--port, storing under --data,
and sets up reel's streams, buckets and consumers. With --replicas it also
runs stages in this process, e.g. --replicas textenc=1,denoise=1,vaedecode=3,encode=1
(or --replicas all). Other machines attach with 'reel stage X --nats nats://HOST:PORT'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServer(cmd.Context(), a, f, cmd) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.srv.Host, "host", "127.0.0.1", "listen address (0.0.0.0 for other machines: set --user/--password or --token)")
	fs.IntVar(&f.srv.Port, "port", 4222, "client port (-1: any free port)")
	fs.StringVar(&f.srv.DataDir, "data", defaultDataDir(), "data directory (JetStream store; locked while running)")
	fs.Int64Var(&f.srv.MaxMemory, "js-max-memory", 256<<20, "JetStream memory limit (bytes)")
	fs.Int64Var(&f.srv.MaxStore, "js-max-store", 16<<30, "JetStream disk limit (bytes)")
	fs.Int32Var(&f.srv.MaxPayload, "max-payload", 1<<20, "max message payload (bytes); bigger bodies go through the object store")
	fs.IntVar(&f.srv.HTTPPort, "http-port", 0, "monitoring port (/jsz for KEDA); 0 = off")
	fs.StringVar(&f.srv.HTTPHost, "http-host", "127.0.0.1", "monitoring address: loopback only, since the monitoring port has no auth (/connz, /jsz)")
	fs.StringVar(&f.srv.User, "user", "", "require this client user")
	f.password = secretSource{flag: "password", file: "password-file", env: "REEL_SERVER_PASSWORD"}
	fs.StringVar(&f.password.flagVal, "password", "", "password of --user (visible in ps: prefer --password-file or $REEL_SERVER_PASSWORD)")
	fs.StringVar(&f.password.fileVal, "password-file", "", "file holding the password of --user (env REEL_SERVER_PASSWORD)")
	fs.StringVar(&f.srv.Token, "token", "", "require this client token")
	fs.StringVar(&f.srv.TLSCert, "tls-cert", "", "serve TLS with this certificate (PEM)")
	fs.StringVar(&f.srv.TLSKey, "tls-key", "", "key of --tls-cert (PEM)")
	fs.StringVar(&f.srv.TLSCA, "tls-ca", "", "require client certificates signed by this CA (mutual TLS)")
	fs.StringVar(&f.replicas, "replicas", "", `stages to run here: "all" or stage=N,... (e.g. vaedecode=3,denoise=1)`)
	f.encode.register(fs)
	f.layout.register(fs)
	f.weights.register(fs)
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
	log, err := a.logger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	if f.srv.Password, err = f.password.resolve(cmd.ErrOrStderr()); err != nil {
		return err
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
	log.Info().Str("url", srv.ClientURL()).Str("data", f.srv.DataDir).Msg("reel server ready")
	fmt.Fprintln(cmd.OutOrStdout(), srv.ClientURL())
	err = pipeline.Run(ctx, pipeline.Options{
		Bus: b, Stages: reps, DeadLetters: true, Output: f.encode.o, EngineOptions: f.weights.opts, Log: log,
		Started: func(rs []*worker.Runner) {
			for _, r := range rs {
				log.Info().Str("worker", r.Worker()).Msg("stage started")
			}
		},
	})
	log.Info().Msg("shutting down")
	return err
}
