package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"github.com/reel-video/reel/internal/mem"
	"github.com/reel-video/reel/model"
	"github.com/spf13/cobra"
)

// benchFlags are reel bench's settings.
type benchFlags struct {
	runs, frames, steps int
	prompt              string
	json                bool
	weights             weightFlags
	windowed            bool
	firstChunk          []int
}

// benchRun is the timing of one whole generation, in seconds.
type benchRun struct {
	TextS   float64 `json:"text_s"`   // prompt and negative prompt encoded
	StepsS  float64 `json:"steps_s"`  // every denoising step
	DecodeS float64 `json:"decode_s"` // every chunk decoded to RGB
	TotalS  float64 `json:"total_s"`
}

// benchReport is reel bench --json's output.
type benchReport struct {
	Runs       []benchRun `json:"runs"`
	Frames     int        `json:"frames"`
	Steps      int        `json:"steps"`
	DiT        string     `json:"dit"` // "fp8" or "float32"
	GOMAXPROCS int        `json:"gomaxprocs"`
	PeakRSS    int64      `json:"peak_rss_bytes"`
	GoVersion  string     `json:"go_version"`
}

func newBenchCommand() *cobra.Command {
	f := &benchFlags{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Time whole generations with the built-in engine, in this process",
		Long: `Bench loads the engine once, runs one short warm-up generation (1 step),
then times --runs whole generations: encode the prompt and the negative
prompt "", --steps guided denoising steps (guidance 5, shift 3) over a
--frames latent, decode every chunk to RGB. It prints each run's phases
(text, steps, decode, total), the median total, and the process's peak
resident memory. No NATS, no stages, no encoding to MP4: the engine alone.

--windowed times what the denoise stage does instead (the prompts encoded,
then SampleWindows with the model's default windows, no decode) and reports
the time per frame and the peak RSS: run one length per process
(scripts/bench_long.sh). --first-chunk 48,768 starts an embedded NATS
server and the four stages in this process and times, for each length,
from submit to the first and last latent chunk on the stream and to the
job's end.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case f.windowed && len(f.firstChunk) > 0:
				return fmt.Errorf("--windowed and --first-chunk are separate benchmarks")
			case f.windowed:
				return runWindowed(cmd.Context(), f, cmd.OutOrStdout())
			case len(f.firstChunk) > 0:
				return runFirstChunk(cmd.Context(), f, cmd.OutOrStdout())
			}
			return runBench(cmd.Context(), f, cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&f.runs, "runs", 3, "timed generations")
	fs.IntVar(&f.frames, "frames", model.DefaultSampleParams().Frames, "video frames per generation")
	fs.IntVar(&f.steps, "steps", model.DefaultSampleParams().Steps, "denoising steps per generation")
	fs.StringVar(&f.prompt, "prompt", "a red circle moving right", "prompt")
	fs.BoolVar(&f.json, "json", false, `print {"runs":[{"text_s",...}],...} as JSON`)
	fs.BoolVar(&f.windowed, "windowed", false, "time the denoise stage's windowed sampling (no decode)")
	fs.IntSliceVar(&f.firstChunk, "first-chunk", nil, "frames of jobs to time from submit to the first latent chunk, through the stages")
	f.weights.register(fs)
	return cmd
}

func runBench(ctx context.Context, f *benchFlags, out io.Writer) error {
	if f.runs < 1 {
		return fmt.Errorf("--runs %d: want at least 1", f.runs)
	}
	e, err := model.Load(f.weights.opts)
	if err != nil {
		return err
	}
	p := model.DefaultSampleParams()
	p.Frames, p.Steps = f.frames, f.steps
	warm := p
	warm.Steps = 1
	if _, err := benchGenerate(ctx, e, f.prompt, warm); err != nil {
		return err
	}
	rep := benchReport{Frames: p.Frames, Steps: p.Steps, DiT: "float32", GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version()}
	if e.DiTFP8() {
		rep.DiT = "fp8"
	}
	for i := range f.runs {
		p.Seed = int64(i + 1)
		r, err := benchGenerate(ctx, e, f.prompt, p)
		if err != nil {
			return err
		}
		rep.Runs = append(rep.Runs, r)
		if !f.json {
			fmt.Fprintf(out, "run %d: text %.3fs  steps %.3fs  decode %.3fs  total %.3fs\n", i+1, r.TextS, r.StepsS, r.DecodeS, r.TotalS)
		}
	}
	if rss, err := mem.ReadRSS(); err == nil {
		rep.PeakRSS = rss.Peak
	}
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	totals := make([]float64, len(rep.Runs))
	for i, r := range rep.Runs {
		totals[i] = r.TotalS
	}
	slices.Sort(totals)
	median := (totals[(len(totals)-1)/2] + totals[len(totals)/2]) / 2
	fmt.Fprintf(out, "median total %.3fs over %d runs: %d frames, %d steps, %s DiT, GOMAXPROCS %d, %s",
		median, len(totals), rep.Frames, rep.Steps, rep.DiT, rep.GOMAXPROCS, rep.GoVersion)
	if rep.PeakRSS > 0 {
		fmt.Fprintf(out, ", peak RSS %.0f MiB", float64(rep.PeakRSS)/(1<<20))
	}
	fmt.Fprintln(out)
	return nil
}

// encodeBoth encodes the prompt and the default negative prompt, the text
// phase of a benchmarked generation.
func encodeBoth(ctx context.Context, e *model.Engine, prompt string) (cond, uncond *model.TextEmbedding, err error) {
	if cond, err = e.EncodeText(ctx, prompt); err != nil {
		return nil, nil, err
	}
	uncond, err = e.EncodeText(ctx, "")
	return cond, uncond, err
}

// benchGenerate is one whole generation, timed by phase.
func benchGenerate(ctx context.Context, e *model.Engine, prompt string, p model.SampleParams) (benchRun, error) {
	t0 := time.Now()
	cond, uncond, err := encodeBoth(ctx, e, prompt)
	if err != nil {
		return benchRun{}, err
	}
	t1 := time.Now()
	lat, err := e.Sample(ctx, cond, uncond, p, nil)
	if err != nil {
		return benchRun{}, err
	}
	t2 := time.Now()
	cfg := e.Config()
	tl := cfg.LatentFrames(p.Frames)
	for i := range tl / cfg.LatentFramesPerChunk {
		vid, err := e.DecodeChunk(ctx, model.LatentChunk(lat, tl, i))
		if err != nil {
			return benchRun{}, err
		}
		_ = model.ToRGB24(vid)
	}
	t3 := time.Now()
	return benchRun{
		TextS:   t1.Sub(t0).Seconds(),
		StepsS:  t2.Sub(t1).Seconds(),
		DecodeS: t3.Sub(t2).Seconds(),
		TotalS:  t3.Sub(t0).Seconds(),
	}, nil
}
