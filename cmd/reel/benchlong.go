package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/mem"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/pipeline"
	"github.com/reel-video/reel/stages/worker"
	"github.com/rs/zerolog"
)

// windowedRun is one reel bench --windowed run: the denoise stage's work
// (prompt encoded, SampleWindows with the model's default windows, chunks
// dropped as emitted), no decode.
type windowedRun struct {
	TextS     float64 `json:"text_s"`
	DenoiseS  float64 `json:"denoise_s"`
	PerFrameS float64 `json:"denoise_per_frame_s"`
	// CPUS is the process's CPU time (user + system) over the denoise,
	// which other jobs on a shared machine disturb far less than wall time.
	CPUS         float64 `json:"denoise_cpu_s"`
	CPUPerFrameS float64 `json:"denoise_cpu_per_frame_s"`
	Windows      int     `json:"windows"`
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runWindowed is reel bench --windowed: the denoise stage's memory and
// time for one length, in this process (run one length per process so
// that the peak RSS is that length's).
func runWindowed(ctx context.Context, f *benchFlags, out io.Writer) error {
	e, err := model.Load(f.weights.opts)
	if err != nil {
		return err
	}
	p := model.DefaultSampleParams()
	p.Frames, p.Steps = f.frames, f.steps
	warm := p
	warm.Frames, warm.Steps = min(p.Frames, e.DefaultWindowing().Frames), 1
	if _, err := benchWindows(ctx, e, f.prompt, warm); err != nil {
		return err
	}
	var runs []windowedRun
	for i := range f.runs {
		p.Seed = int64(i + 1)
		r, err := benchWindows(ctx, e, f.prompt, p)
		if err != nil {
			return err
		}
		runs = append(runs, r)
		if !f.json {
			fmt.Fprintf(out, "run %d: text %.3fs  denoise %.3fs, CPU %.3fs (%d windows, %.4fs per frame, CPU %.4fs)\n",
				i+1, r.TextS, r.DenoiseS, r.CPUS, r.Windows, r.PerFrameS, r.CPUPerFrameS)
		}
	}
	rss, _ := mem.ReadRSS()
	rep := struct {
		Runs    []windowedRun   `json:"runs"`
		Frames  int             `json:"frames"`
		Steps   int             `json:"steps"`
		Window  model.Windowing `json:"window"`
		PeakRSS int64           `json:"peak_rss_bytes"`
		Mode    string          `json:"mode"`
	}{runs, p.Frames, p.Steps, e.DefaultWindowing(), rss.Peak, "windowed"}
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(out, "%d frames, %d steps, windows of %d overlapping %d: peak RSS %.1f MiB\n",
		rep.Frames, rep.Steps, rep.Window.Frames, rep.Window.Overlap, float64(rep.PeakRSS)/(1<<20))
	return nil
}

func benchWindows(ctx context.Context, e *model.Engine, prompt string, p model.SampleParams) (windowedRun, error) {
	t0 := time.Now()
	cond, uncond, err := encodeBoth(ctx, e, prompt)
	if err != nil {
		return windowedRun{}, err
	}
	t1, c1 := time.Now(), cpuTime()
	windows := 0
	err = e.SampleWindows(ctx, cond, uncond, p, model.Windowing{}, func(int, []float32) error { return nil },
		func(w model.WindowProgress) { windows = w.Windows })
	if err != nil {
		return windowedRun{}, err
	}
	d, c := time.Since(t1).Seconds(), (cpuTime() - c1).Seconds()
	n := float64(p.Frames)
	return windowedRun{TextS: t1.Sub(t0).Seconds(), DenoiseS: d, PerFrameS: d / n, CPUS: c, CPUPerFrameS: c / n, Windows: windows}, nil
}

// firstChunkRun is one job of reel bench --first-chunk.
type firstChunkRun struct {
	Frames      int     `json:"frames"`
	FirstChunkS float64 `json:"first_chunk_s"` // submit → latent chunk 0 on the stream
}

// runFirstChunk is reel bench --first-chunk: an embedded NATS server and
// the four stages in this process (as reel generate), one job per length
// in turn; it times from Submit to the first latent chunk on the stream,
// then cancels the job (the rest is the windowed benchmark's) and waits
// for it to end before the next.
func runFirstChunk(ctx context.Context, f *benchFlags, out io.Writer) error {
	log := zerolog.Nop()
	dir, err := os.MkdirTemp("", "reel-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := bus.StartServer(bus.ServerConfig{DataDir: dir, DontListen: true}, log)
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	b, err := bus.Provision(ctx, bus.ConnectConfig{InProcess: srv, Name: "reel bench"}, bus.LayoutConfig{}, log)
	if err != nil {
		return err
	}
	defer b.Close()
	sctx, stop := context.WithCancel(ctx)
	started, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- pipeline.Run(sctx, pipeline.Options{Bus: b, Stages: map[string]int{protocol.StageTextEnc: 1, protocol.StageDenoise: 1,
			protocol.StageVAEDecode: 1, protocol.StageEncode: 1}, Output: stages.OutputDefaults{WorkDir: dir},
			EngineOptions: f.weights.opts, Started: func([]*worker.Runner) { close(started) }, Log: log})
	}()
	defer func() { stop(); <-done }()
	select {
	case <-started:
	case err := <-done:
		done <- err
		return err
	}
	store := orchestrator.NewStore(b, log)
	var runs []firstChunkRun
	for i := range f.runs {
		for _, frames := range f.firstChunk {
			set := protocol.DefaultSettings()
			set.Frames, set.Steps, set.Seed = frames, f.steps, int64(i+1)
			r, err := firstChunk(ctx, b, store, f.prompt, set)
			if err != nil {
				return fmt.Errorf("%d frames: %w", frames, err)
			}
			runs = append(runs, r)
			if !f.json {
				fmt.Fprintf(out, "%4d frames: first latent chunk %.3fs after submit\n", frames, r.FirstChunkS)
			}
		}
	}
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Runs  []firstChunkRun `json:"runs"`
			Steps int             `json:"steps"`
			Mode  string          `json:"mode"`
		}{runs, f.steps, "first-chunk"})
	}
	return nil
}

func firstChunk(ctx context.Context, b *bus.Bus, store *orchestrator.Store, prompt string, set protocol.Settings) (firstChunkRun, error) {
	r := firstChunkRun{Frames: set.Frames}
	t0 := time.Now()
	id, err := store.Submit(ctx, protocol.Request{Prompt: prompt}, set, orchestrator.SubmitOptions{})
	if err != nil {
		return r, err
	}
	cons, err := b.JS.OrderedConsumer(ctx, protocol.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{protocol.LatentSubject(id, 0)}})
	if err != nil {
		return r, err
	}
	m, err := cons.Next(jetstream.FetchMaxWait(10 * time.Minute))
	if err != nil {
		return r, err
	}
	md, err := m.Metadata()
	if err != nil {
		return r, err
	}
	r.FirstChunkS = md.Timestamp.Sub(t0).Seconds()
	if err := store.Cancel(ctx, id, "benchmark: first chunk timed"); err != nil {
		return r, err
	}
	if _, err := store.Wait(ctx, id); err != nil {
		return r, err
	}
	return r, nil
}
