package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/metrics"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/pipeline"
	"github.com/spf13/cobra"
)

type stageFlags struct {
	nats        natsFlags
	layout      layoutFlags
	concurrency int
	encode      encodeFlags
	workDir     string
	deadLetters bool
	fault       string
	res         resourceFlags
	weights     weightFlags
	engine      engineFlags
	metrics     metricsFlags
}

func newStageCommand(a *app) *cobra.Command {
	f := &stageFlags{}
	cmd := &cobra.Command{
		Use:   "stage textenc|denoise|vaedecode|encode",
		Short: "Run one stage as its own process against any NATS server",
		Long: `Stage runs one stage (--concurrency slots, one message each) against any NATS
server or cluster, reconnecting forever. Streams, consumers and their settings
are the server's: --max-age, --max-bytes, --js-replicas, --ack-wait,
--max-deliver and --max-queue only apply when this process is the first to
attach (provision a cluster with 'reel setup' instead).`,
		ValidArgs: protocol.Stages(),
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStage(cmd.Context(), a, f, args[0], cmd)
		},
	}
	fs := cmd.Flags()
	f.nats.register(fs)
	f.layout.register(fs)
	f.weights.register(fs)
	f.engine.register(fs)
	fs.IntVar(&f.concurrency, "concurrency", 1, "worker slots in this process (one message each)")
	f.encode.register(fs)
	fs.StringVar(&f.workDir, "work-dir", "", "encode: directory for temporary MP4s")
	fs.BoolVar(&f.deadLetters, "dead-letters", true, "also turn dead-letter advisories into failed jobs")
	f.res.register(fs)
	f.metrics.register(fs)
	fs.StringVar(&f.fault, "fault", "", `fault injection for tests: "hang" holds (and heartbeats) the first message forever`)
	_ = fs.MarkHidden("fault")
	return cmd
}

func runStage(ctx context.Context, a *app, f *stageFlags, stage string, cmd *cobra.Command) error {
	if f.concurrency < 1 {
		return fmt.Errorf("--concurrency %d: must be at least 1", f.concurrency)
	}
	if err := f.encode.validate(); err != nil {
		return err
	}
	encodeOpts := f.encode.o
	encodeOpts.WorkDir = f.workDir
	log, err := a.logger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	log = log.With().Str("stage", stage).Logger()
	f.nats.cc.Name = "reel stage " + stage
	bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// Attach: the layout (retention, ack wait, max deliver) is the server's.
	cc, err := f.nats.config(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	b, err := bus.Open(bctx, cc, f.layout.lc, log)
	if err != nil {
		return connectHint(err, f.nats.cc.URL)
	}
	defer b.Close()
	// Probes come up before the model loads: alive at once, ready once
	// connected, attached and loaded.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	m := metrics.New()
	m.WatchBus(b, []string{stage}, false)
	loaded := metrics.NewFlag("engine loaded")
	f.metrics.serveProbes(ctx, &metrics.Probes{Metrics: m, Checks: []metrics.Check{
		metrics.Connected(b), metrics.ConsumerAttached(b, stage), loaded.Check(),
	}}, cmd.OutOrStdout(), log, stop)
	mw := []stages.Middleware{m.Middleware()}
	switch f.fault {
	case "":
	case "hang":
		mw = append(mw, hang)
	default:
		return fmt.Errorf("--fault %q: want hang", f.fault)
	}
	// A runner that cannot start ends the stage here, with its message.
	res, engs, release, err := startWithResources(ctx, &f.res, &f.engine, []string{stage}, f.weights.opts, log)
	if err != nil {
		return err
	}
	defer release()
	loaded.Set()
	res.Describe = m.Describe(res.Describe)
	err = pipeline.Run(ctx, pipeline.Options{
		Bus: b, Stages: map[string]int{stage: f.concurrency}, DeadLetters: f.deadLetters, Engines: engs,
		Output: encodeOpts, Log: log, Middleware: mw, Resources: res,
	})
	if err == nil {
		if cause := context.Cause(ctx); !errors.Is(cause, context.Canceled) {
			err = cause // the probes' listener failed
		}
	}
	return err
}

// hang is the "hang" fault: the handler holds its message (the runner keeps
// heartbeating) until the process stops — a worker to kill -9 mid-job.
func hang(stages.Handler) stages.Handler {
	return stages.HandlerFunc(func(ctx context.Context, d stages.Delivery) error {
		d.Log().Warn().Str("subject", d.Subject()).Msg("fault: holding message")
		<-ctx.Done()
		return ctx.Err()
	})
}
