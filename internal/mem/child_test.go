package mem

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/envconfig"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/stages/encode/video"
	"github.com/rs/zerolog"
)

// Peaks are measured in a child process (this test binary, re-executed with
// childEnv naming one workload) so that nothing else the test process did
// shows in VmHWM. The child loads the real engine, runs the workload as the
// stage would, and prints one JSON line.

const childEnv = envconfig.MemChild

func TestMain(m *testing.M) {
	if w := envconfig.String(childEnv); w != "" {
		if err := runChild(context.Background(), w); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// measured is a child's report.
type measured struct {
	Workload string `json:"workload"`
	LoadPeak int64  `json:"load_peak"` // VmHWM right after model.Load
	Resident int64  `json:"resident"`  // VmRSS right after model.Load
	Peak     int64  `json:"peak"`      // VmHWM at the end: the process's peak
	Seconds  float64
}

// workload is "kind:frames:steps[:WxH]". Kinds: idle (nothing loaded),
// load, live (prints the live heap after Load), text (frames = jobs),
// denoise and denoise32 (FP8 / float32 DiT), chunked, chunked-gc,
// chunked-limit (steps = Go memory limit in MiB), whole (DecodeLatent),
// encode (the video writer, no engine). WxH runs the engine at that frame
// size (model.Options; default the checkpoint's 64x64). Run one by hand:
// REEL_MEM_CHILD=whole:768:0 ./mem.test.
type workload struct {
	kind          string
	frames, steps int
	width, height int // 0: the checkpoint's
}

func (w workload) String() string {
	s := fmt.Sprintf("%s:%d:%d", w.kind, w.frames, w.steps)
	if w.width > 0 {
		s += fmt.Sprintf(":%dx%d", w.width, w.height)
	}
	return s
}

func parseWorkload(s string) (workload, error) {
	p := strings.Split(s, ":")
	if len(p) != 3 && len(p) != 4 {
		return workload{}, fmt.Errorf("workload %q: want kind:frames:steps[:WxH]", s)
	}
	f, err1 := strconv.Atoi(p[1])
	st, err2 := strconv.Atoi(p[2])
	if err1 != nil || err2 != nil {
		return workload{}, fmt.Errorf("workload %q: bad numbers", s)
	}
	w := workload{kind: p[0], frames: f, steps: st}
	if len(p) == 4 {
		if _, err := fmt.Sscanf(p[3], "%dx%d", &w.width, &w.height); err != nil {
			return workload{}, fmt.Errorf("workload %q: size: %w", s, err)
		}
	}
	return w, nil
}

// runChild runs one workload the way its stage does and prints the peaks.
func runChild(ctx context.Context, spec string) error {
	w, err := parseWorkload(spec)
	if err != nil {
		return err
	}
	start := time.Now()
	if w.kind == "encode" || w.kind == "idle" {
		return runEncode(ctx, w, start)
	}
	// The child loads what the workload's stage loads (a stage process
	// loads only its own model): the estimates are of those processes.
	opts := model.Options{Width: w.width, Height: w.height, Models: workloadModels(w.kind)}
	if w.kind == "denoise32" {
		// The float32 DiT, from the reference BF16 checkpoint on disk.
		opts.DiTPath = filepath.Join(repoRoot(), "model", "testdata", "reel-tiny.dit.bf16.safetensors")
	}
	e, err := model.Load(opts)
	if err != nil {
		return err
	}
	after, err := ReadRSS()
	if err != nil {
		return err
	}
	if envconfig.Bool(envconfig.MemDebug) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(os.Stderr, "after load: heapAlloc %.1f heapInuse %.1f heapSys %.1f nextGC %.1f numGC %d sys %.1f stacks %.1f\n",
			mb(ms.HeapAlloc), mb(ms.HeapInuse), mb(ms.HeapSys), mb(ms.NextGC), ms.NumGC, mb(ms.Sys), mb(ms.StackSys))
		defer func() {
			runtime.ReadMemStats(&ms)
			fmt.Fprintf(os.Stderr, "end: heapAlloc %.1f heapInuse %.1f heapSys %.1f heapReleased %.1f nextGC %.1f numGC %d sys %.1f\n",
				mb(ms.HeapAlloc), mb(ms.HeapInuse), mb(ms.HeapSys), mb(ms.HeapReleased), mb(ms.NextGC), ms.NumGC, mb(ms.Sys))
		}()
	}
	c := e.Config()
	t := c.LatentFrames(w.frames)
	switch w.kind {
	case "load":
	case "live":
		// Reports the heap the engine keeps (its weights) on stderr.
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(os.Stderr, "live heap after load: %d bytes\n", ms.HeapAlloc)
		runtime.KeepAlive(e)
	case "text":
		// The text stage encodes a prompt and the negative prompt per job;
		// frames counts jobs, so a long-lived worker's steady state shows.
		for j := 0; j < max(1, w.frames); j++ {
			for _, p := range []string{fmt.Sprintf("a red circle moving right %d", j), ""} {
				if _, err := e.EncodeText(ctx, p); err != nil {
					return err
				}
			}
		}
	case "denoise", "denoise32":
		// The stage is given its embeddings (it loads no text encoder);
		// their values do not change what sampling allocates.
		cond, uncond := syntheticEmbedding(c, 1), syntheticEmbedding(c, 2)
		// A denoise worker serves job after job, and the estimate is its
		// steady state, where garbage has filled the GC's headroom. A step
		// makes little garbage (its buffers are reused, FP8 products'
		// scratch included), so one job may not get there: run jobs until
		// the GC has run four times since Load (at most 40 jobs). Two were
		// enough while the process held all three models, whose weights
		// set the goal; with the DiT alone the goal follows the job's
		// buffers, and only a cycle whose collection ran mid-job reaches
		// the steady state (48 frames: 35 MiB after two cycles, 49 MiB
		// after four or six).
		p := model.SampleParams{Frames: w.frames, Steps: w.steps, Guidance: 5, Shift: 3, Seed: 1}
		gcs := func() uint32 {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return ms.NumGC
		}
		for start, j := gcs(), 0; j < 40 && gcs() < start+4; j++ {
			if _, err := e.Sample(ctx, cond, uncond, p, nil); err != nil {
				return err
			}
		}
	case "chunked", "chunked-gc", "chunked-limit":
		if w.kind == "chunked-limit" {
			// steps carries the Go memory limit in MiB.
			debug.SetMemoryLimit(int64(w.steps) * MiB)
		}
		// The VAE stage: one chunk per message, frames published and
		// dropped; nothing accumulates across chunks. chunked-gc also
		// collects after each chunk, so no chunk's garbage meets the next.
		lat := model.Noise(2, c.LatentSize(w.frames))
		for i := 0; i < t/c.LatentFramesPerChunk; i++ {
			vid, err := e.DecodeChunk(ctx, model.LatentChunk(lat, t, i))
			if err != nil {
				return err
			}
			_ = model.ToRGB24(vid)
			if w.kind == "chunked-gc" {
				runtime.GC()
			}
		}
	case "whole":
		lat := model.Noise(2, c.LatentSize(w.frames))
		vid, err := e.DecodeLatent(ctx, lat, t)
		if err != nil {
			return err
		}
		_ = model.ToRGB24(vid)
	default:
		return fmt.Errorf("workload %q: unknown kind", spec)
	}
	end, err := ReadRSS()
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(measured{
		Workload: spec, LoadPeak: after.Peak, Resident: after.Current, Peak: end.Peak,
		Seconds: time.Since(start).Seconds(),
	})
}

// workloadModels are the models the stage of a workload kind loads (nil:
// all, for the whole-engine kinds).
func workloadModels(kind string) []protocol.Model {
	switch kind {
	case "text":
		return []protocol.Model{protocol.ModelText}
	case "denoise", "denoise32":
		return []protocol.Model{protocol.ModelDiT}
	case "chunked", "chunked-gc", "chunked-limit", "whole":
		return []protocol.Model{protocol.ModelVAE}
	}
	return nil
}

// syntheticEmbedding stands in for the text stage's output: a prompt of
// eight tokens with values from seed.
func syntheticEmbedding(c model.Config, seed int64) *model.TextEmbedding {
	mask := make([]bool, c.TextMaxLen)
	for i := range 8 {
		mask[i] = true
	}
	return &model.TextEmbedding{Hidden: model.Noise(seed, c.TextMaxLen*c.TextDim), Mask: mask}
}

// measure re-executes the test binary for one workload. The child gets the
// default GC settings (GOGC=100, no GOMEMLIMIT), as a stage started without
// them does.
func measure(t testing.TB, spec string) measured {
	t.Helper()
	if raceDetector {
		t.Skip("RSS under the race detector is not the process's memory")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") && !strings.HasPrefix(kv, childEnv+"=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, childEnv+"="+spec)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("child %s: %v\n%s", spec, err, errb.String())
	}
	var m measured
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatalf("child %s: %v: %q", spec, err, out.String())
	}
	return m
}

// TestMeasureSweep prints raw peaks for calibration (REEL_MEM_SWEEP=1).
func TestMeasureSweep(t *testing.T) {
	if !envconfig.Bool(envconfig.MemSweep) {
		t.Skip("set REEL_MEM_SWEEP=1")
	}
	for _, s := range strings.Fields(envconfig.String(envconfig.MemSweepList)) {
		m := measure(t, s)
		t.Logf("%-18s load_peak %7.1f MiB resident %7.1f MiB peak %7.1f MiB  %.1fs", s,
			float64(m.LoadPeak)/(1<<20), float64(m.Resident)/(1<<20), float64(m.Peak)/(1<<20), m.Seconds)
	}
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }

// runEncode is the encode stage for one job: RGB24 chunks into the video
// writer (pure-Go encoder, so every byte is in this process) and Close,
// which muxes the MP4 and makes the previews. "idle" only reports the
// process's own baseline (runtime and binary, no engine).
func runEncode(ctx context.Context, w workload, start time.Time) error {
	if w.kind == "encode" {
		dir, err := os.MkdirTemp("", "reel-mem-encode")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		width, height := 64, 64 // the checkpoint's frame size
		if w.width > 0 {
			width, height = w.width, w.height
		}
		vw, err := video.NewWriter(ctx, filepath.Join(dir, "out.mp4"), video.Options{Width: width, Height: height, FPS: 8, FFmpeg: "none"}, zerolog.Nop())
		if err != nil {
			return err
		}
		chunk := make([]byte, 16*width*height*3)
		for i := 0; i < w.frames/16; i++ {
			for j := range chunk {
				chunk[j] = byte(i*7 + j*13 + j/4096)
			}
			if err := vw.WriteChunk(chunk); err != nil {
				return err
			}
		}
		if _, err := vw.Close(); err != nil {
			return err
		}
	}
	end, err := ReadRSS()
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(measured{Workload: w.String(), Peak: end.Peak, Resident: end.Current, Seconds: time.Since(start).Seconds()})
}

// repoRoot is the module root: tests run in their package directory.
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return filepath.Join(wd, "..", "..")
}
