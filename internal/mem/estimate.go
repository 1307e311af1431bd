package mem

import "fmt"

// Estimate is the memory a stage process needs for one request.
type Estimate struct {
	// What describes the request ("denoise 48 frames, 30 steps, FP8").
	What string `json:"what" msgpack:"what"`
	// Resident is what the process holds before the request: runtime,
	// binary, the weight files' pages and the loaded weights. Paid once per
	// process, however many requests it serves at a time.
	Resident int64 `json:"resident" msgpack:"resident"`
	// Peak is the process's peak RSS while it serves this request alone.
	Peak int64 `json:"peak" msgpack:"peak"`
	// Base is the part outside the Go heap: runtime, binary, and the
	// embedded weight files' pages.
	Base int64 `json:"base" msgpack:"base"`
	// Live is the Go heap the request keeps reachable at its peak: the
	// weights plus the live activations.
	Live int64 `json:"live" msgpack:"live"`
}

// runtimeHeapOverhead is what the Go memory limit counts beyond the heap
// itself (span and GC metadata, stacks): about 4 MiB measured after Load.
const runtimeHeapOverhead = 4 * MiB

// MemoryLimit is the Go memory limit (debug.SetMemoryLimit, GOMEMLIMIT) a
// stage process can set so that its heap stays near Live instead of the
// GC's steady state of (1 + GOGC/100) × Live: Live plus a quarter, so the
// collector does not run back to back, plus the runtime's own overhead.
// Measured on the VAE stage: the peak stays flat across chunks and the
// decode is no slower (see BENCHMARKS.md). It is for one request at a time;
// a process with n slots needs the weights once and n × the activations.
func (e Estimate) MemoryLimit() int64 { return e.Live + e.Live/4 + runtimeHeapOverhead }

// Bounded is the estimate for a process that sets MemoryLimit: its peak is
// Base + MemoryLimit when that is below the unbounded Peak.
func (e Estimate) Bounded() Estimate {
	b := e
	b.Peak = min(e.Peak, e.Base+e.MemoryLimit())
	b.What = e.What + ", Go memory limit " + FormatSize(e.MemoryLimit())
	return b
}

// Transient is what the request adds on top of Resident.
func (e Estimate) Transient() int64 { return e.Peak - e.Resident }

func (e Estimate) String() string {
	return fmt.Sprintf("%s: peak %s (resident %s + %s)", e.What, FormatSize(e.Peak), FormatSize(e.Resident), FormatSize(e.Transient()))
}

// Estimator computes peaks for the CPU engine.
//
// The Go heap is the model: a process that keeps working reaches the GC's
// steady state, where the heap grows to (1 + GOGC/100) × its live data
// before each collection, so a long-lived stage's peak is
//
//	Runtime + weight file pages + (1 + GOGC/100) · (weights + live activations)
//
// (text, denoise, chunked decode, encode). A single pass over a large
// input, like decoding a whole latent in one call, is instead bounded by
// its live buffers plus the garbage of the layer before (see tracer):
//
//	Runtime + weight file pages + weights + traced peak.
type Estimator struct {
	Arch Arch
	// GCPercent is the stage's GOGC (100 unless the process changes it).
	GCPercent int
	// Runtime is the RSS of a stage process before it loads anything: the
	// Go runtime, stacks, and the binary's own pages. It depends on the
	// binary (the reel binary is about 48 MB and shows 23 MiB, a test binary
	// 6 MiB), so a stage should measure it at start-up with WithRuntime.
	Runtime int64
	// EncoderFixed is the video writer's own fixed cost: the mp4 muxer,
	// the GIF and PNG encoders' tables (measured: 3.5 MiB).
	EncoderFixed int64
}

// reelRuntime is `reel stage` measured idle, before Load: 23 MiB, almost
// all of it (21 MiB) file pages of the binary.
const reelRuntime = 23 * MiB

// Default is the estimator for reel-tiny with GOGC=100 in the reel binary.
func Default() Estimator {
	return Estimator{Arch: ReelTiny(), GCPercent: 100, Runtime: reelRuntime, EncoderFixed: 3*MiB + MiB/2}
}

// WithRuntime returns e with Runtime set to rss, the process's RSS read
// before it loads the engine (ReadRSS().Current at start-up), so the
// estimates fit the binary that is actually running.
func (e Estimator) WithRuntime(rss int64) Estimator {
	e.Runtime = rss
	return e
}

// headroom scales live heap to the GC's steady-state peak.
func (e Estimator) headroom(live int64) int64 {
	return live + live*int64(e.GCPercent)/100
}

// engineBase is runtime plus weight file pages: the non-heap part of an
// engine process.
func (e Estimator) engineBase(fp8 bool) int64 { return e.Runtime + e.Arch.filePages(fp8) }

// resident is an engine process after Load.
func (e Estimator) resident(fp8 bool) int64 { return e.engineBase(fp8) + e.Arch.Weights(fp8) }

// steady is a long-lived engine stage's peak with `live` bytes of
// activations per request.
func (e Estimator) steady(what string, fp8 bool, live int64) Estimate {
	l := e.Arch.Weights(fp8) + live
	return Estimate{What: what, Resident: e.resident(fp8), Peak: e.engineBase(fp8) + e.headroom(l), Base: e.engineBase(fp8), Live: l}
}

// Text is the text stage: a prompt and the negative prompt per job.
func (e Estimator) Text() Estimate {
	return e.steady("encode text", true, e.Arch.textEncode()+2*f32*int64(e.Arch.TextLen*e.Arch.TextDim))
}

// Denoise is the denoise stage for one job, with classifier-free guidance
// (two text conditions, so every activation is doubled). Steps do not
// raise the bound: Sample allocates its buffers (attention scratch
// included) once and reuses them every step. What steps and jobs leave
// behind is garbage, which fills the GC headroom the steady state counts
// over a worker's jobs (a single short job can stay well below the
// estimate). fp8 selects the FP8 DiT (the built-in one);
// otherwise the DiT is float32 from a BF16/F32 checkpoint read from disk,
// which Load also holds in the heap while it converts it.
func (e Estimator) Denoise(frames, steps int, fp8 bool) Estimate {
	t := frames / e.Arch.FramesPerChunk * e.Arch.LatentFramesPerChunk
	prec := "FP8"
	if !fp8 {
		prec = "F32"
	}
	est := e.steady(fmt.Sprintf("denoise %d frames, %d steps, %s", frames, steps, prec), fp8, e.Arch.ditSample(t, 2))
	if !fp8 {
		// Load holds the file bytes and the weights widened from them at
		// once; the file's heap pages stay resident after Load for reuse.
		est.Resident += e.Arch.DiTFileBF16
		est.Peak = max(est.Peak, est.Resident)
	}
	return est
}

// vaeTrace replays the decoder over t latent frames.
func (e Estimator) vaeTrace(t int) tracer {
	var tr tracer
	e.Arch.vaeDecode(&tr, t)
	return tr
}

// DecodeChunk is the VAE stage decoding one chunk ([8,4,8,8] → 16 frames)
// at a time, in a worker that keeps decoding: it does not depend on the
// video's length.
func (e Estimator) DecodeChunk() Estimate {
	tr := e.vaeTrace(e.Arch.LatentFramesPerChunk)
	return e.steady("decode one chunk", true, tr.livePeak)
}

// DecodeWhole is decoding a whole latent of `frames` frames in one call
// (model.Engine.DecodeLatent): memory grows with length. It is a single
// pass, so the traced peak (live buffers plus the previous layer's garbage)
// is the model rather than the steady state.
func (e Estimator) DecodeWhole(frames int) Estimate {
	tr := e.vaeTrace(frames / e.Arch.FramesPerChunk * e.Arch.LatentFramesPerChunk)
	r := e.resident(true)
	return Estimate{What: fmt.Sprintf("decode %d frames in one call", frames), Resident: r, Peak: r + tr.peak,
		Base: e.engineBase(true), Live: e.Arch.Weights(true) + tr.livePeak}
}

// Encode is the encode stage for one job of `frames` frames in its own
// process (it loads no model): the writer keeps every RGB24 frame for the
// previews and the pure-Go fallback, and Close holds the encoded samples
// (I_PCM: 384 bytes per 16×16 macroblock) and the GIF's paletted frames.
// ffmpeg, when used, is a separate process with its own memory.
func (e Estimator) Encode(frames int) Estimate {
	px := int64(e.Arch.PixelSide * e.Arch.PixelSide)
	mbs := px / 256
	perFrame := 3*px + 384*mbs + px // RGB24, I_PCM sample, GIF frame
	r := e.Runtime + e.EncoderFixed
	live := int64(frames) * perFrame
	return Estimate{What: fmt.Sprintf("encode %d frames", frames), Resident: r, Peak: r + e.headroom(live), Base: r, Live: live}
}

// The brief's API: peaks in bytes from the default estimator.

// EstimateText is Default().Text().Peak.
func EstimateText() int64 { return Default().Text().Peak }

// EstimateDenoise is Default().Denoise(frames, steps, fp8).Peak.
func EstimateDenoise(frames, steps int, fp8 bool) int64 {
	return Default().Denoise(frames, steps, fp8).Peak
}

// EstimateDecodeChunk is Default().DecodeChunk().Peak.
func EstimateDecodeChunk() int64 { return Default().DecodeChunk().Peak }

// EstimateDecodeWhole is Default().DecodeWhole(frames).Peak.
func EstimateDecodeWhole(frames int) int64 { return Default().DecodeWhole(frames).Peak }

// EstimateEncode is Default().Encode(frames).Peak.
func EstimateEncode(frames int) int64 { return Default().Encode(frames).Peak }
