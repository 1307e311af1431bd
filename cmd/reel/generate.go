package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/pipeline"
	"github.com/reel-video/reel/stages/worker"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
)

type generateFlags struct {
	settings settingsFlags
	layout   layoutFlags
	out      string
	dataDir  string
	ffmpeg   string
	vae      int
	timeout  time.Duration
	weights  weightFlags
	engine   engineFlags
	res      resourceFlags
}

func newGenerateCommand(a *app) *cobra.Command {
	f := &generateFlags{}
	cmd := &cobra.Command{
		Use:   "generate PROMPT",
		Short: "Generate a video on an embedded NATS server, all four stages in this process",
		Long: `Generate starts an embedded NATS server (JetStream under --data), runs the
four stages in this process through the same runner a standalone
'reel stage' process uses, submits the prompt, shows progress, writes the
MP4 and prints its path. Ctrl-C cancels the job and shuts down cleanly.`,
		Args: promptArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGenerate(cmd.Context(), a, f, promptOf(args), cmd)
		},
	}
	fs := cmd.Flags()
	f.settings.register(fs)
	f.layout.register(fs)
	f.weights.register(fs)
	f.engine.register(fs)
	f.res.register(fs)
	fs.StringVarP(&f.out, "output", "o", "", "output MP4 (default ./<job id>.mp4)")
	fs.StringVar(&f.dataDir, "data", defaultDataDir(), "data directory (JetStream store)")
	fs.StringVar(&f.ffmpeg, "ffmpeg", "", `ffmpeg binary ("" = PATH, "none" = pure-Go encoder)`)
	fs.IntVar(&f.vae, "vae-workers", 1, "vaedecode worker slots")
	fs.DurationVar(&f.timeout, "timeout", 0, "job deadline (0 = none)")
	return cmd
}

func runGenerate(ctx context.Context, a *app, f *generateFlags, prompt string, cmd *cobra.Command) error {
	req, set := f.settings.request(prompt)
	if err := orchestrator.Validate(req, set); err != nil {
		return err // refused before anything runs
	}
	log, err := a.logger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	if a.logLevel == "info" {
		log = log.Level(zerolog.WarnLevel) // the progress display says what happens
	}
	// The device is placed (a GPU probe child) and the engines load while
	// the server starts and the bus is provisioned: the two are
	// independent, and start-up is most of a short job's fixed cost.
	type loaded struct {
		res     pipeline.Resources
		engs    *pipeline.Engines
		release func()
		err     error
	}
	engc := make(chan loaded, 1)
	go func() {
		res, engs, release, err := startWithResources(ctx, &f.res, &f.engine, protocol.Stages(), f.weights.opts, log)
		engc <- loaded{res, engs, release, err}
	}()
	engsReady := false
	defer func() {
		if !engsReady { // an early return: what loaded is released once it has
			if r := <-engc; r.err == nil {
				r.release()
			}
		}
	}()
	srv, err := bus.StartServer(bus.ServerConfig{DataDir: f.dataDir, DontListen: true}, log)
	if err != nil {
		if errors.Is(err, bus.ErrStoreLocked) {
			return fmt.Errorf("%w\n(a 'reel server' uses it: submit with 'reel submit', or pass another --data)", err)
		}
		return err
	}
	defer srv.Shutdown()
	bctx, bcancel := context.WithTimeout(ctx, 30*time.Second)
	defer bcancel()
	b, err := bus.Provision(bctx, bus.ConnectConfig{InProcess: srv, Name: "reel generate"}, f.layout.lc, log)
	if err != nil {
		return err
	}
	defer b.Close()
	r := <-engc
	engsReady = true
	if r.err != nil {
		return r.err
	}
	res, engs := r.res, r.engs
	defer r.release()

	// The stages stop when generate ends, whatever the outcome.
	sctx, stopStages := context.WithCancel(context.WithoutCancel(ctx))
	started := make(chan struct{})
	stagesDone := make(chan error, 1)
	go func() {
		stagesDone <- pipeline.Run(sctx, pipeline.Options{
			Bus:         b,
			Stages:      map[string]int{protocol.StageTextEnc: 1, protocol.StageDenoise: 1, protocol.StageVAEDecode: f.vae, protocol.StageEncode: 1},
			DeadLetters: true,
			Output:      stages.OutputDefaults{FFmpeg: f.ffmpeg},
			Engines:     engs,
			Resources:   res,
			Started:     func([]*worker.Runner) { close(started) },
			Log:         log,
		})
	}()
	defer func() {
		stopStages()
		if err := <-stagesDone; err != nil {
			log.Error().Err(err).Msg("stages")
		}
		qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		b.ForgetStoppedPulls(qctx) // before srv.Shutdown (deferred above): it saves a 50 ms sleep there
	}()
	select {
	case <-started:
	case err := <-stagesDone:
		stagesDone <- err
		return err
	case <-ctx.Done():
		return ctx.Err()
	}

	store := orchestrator.NewStore(b, log)
	id, err := store.Submit(ctx, req, set, orchestrator.SubmitOptions{Deadline: f.timeout})
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "job %s\n", id)
	j, err := follow(ctx, store, id, cmd.ErrOrStderr())
	if ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := store.Cancel(cctx, id, "interrupted"); err != nil {
			log.Warn().Err(err).Msg("cancel")
		}
		return &exitError{130, fmt.Errorf("job %s cancelled", id)}
	}
	if err != nil {
		return err
	}
	if j.State != protocol.StateSucceeded {
		return &exitError{1, fmt.Errorf("job %s %s: %s", id, j.State, j.Error)}
	}
	out := f.out
	if out == "" {
		out = id + ".mp4"
	}
	if err := saveVerified(ctx, b, j.Video.Object, j.Video.SHA256, out); err != nil {
		return err
	}
	abs, _ := filepath.Abs(out)
	fmt.Fprintln(cmd.OutOrStdout(), abs)
	return nil
}

// saveVerified streams a blob into path through a temporary file renamed
// into place once complete, so a failed download leaves no partial video;
// with want set, only if its SHA-256 is want (the hash the job record
// holds), so that an object overwritten in the store is an error, not a
// file.
func saveVerified(ctx context.Context, b *bus.Bus, name, want, path string) error {
	return writeVerified(path, name, want, func(w io.Writer) error {
		_, err := b.GetBlobTo(ctx, name, w)
		return err
	})
}

// writeVerified writes what fill writes into path through path.partial,
// renamed into place once complete and, with want set, only if its
// SHA-256 is want; else the partial file is removed. name is what the
// error calls the content.
func writeVerified(path, name, want string, fill func(io.Writer) error) error {
	tmp := path + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	h := sha256.New()
	err = fill(io.MultiWriter(f, h))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if got := hex.EncodeToString(h.Sum(nil)); err == nil && want != "" && got != want {
		err = fmt.Errorf("%w: %s has sha256 %s, the job recorded %s: the stored object was altered", ErrTampered, name, got, want)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// ErrTampered is returned when a stored video does not match its record.
var ErrTampered = errors.New("video does not match its record")
