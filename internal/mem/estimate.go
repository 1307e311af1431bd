package mem

import (
	"fmt"
	"runtime"

	"github.com/reel-video/reel/bus/protocol"
)

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
	// weights plus its own live activations. (Peak also counts what the
	// previous request can leave reachable while this one starts; see
	// Estimator.)
	Live int64 `json:"live" msgpack:"live"`
	// Weights is the part of Live the loaded model keeps (the manifest's
	// resident bytes); the rest is one request's activations.
	Weights int64 `json:"weights" msgpack:"weights"`
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
// see MemoryLimitSlots for more.
func (e Estimate) MemoryLimit() int64 { return e.MemoryLimitSlots(1) }

// MemoryLimitSlots is MemoryLimit for a process running n requests at
// once: the weights once, n × the activations, each with its quarter.
func (e Estimate) MemoryLimitSlots(n int) int64 {
	live := e.Weights + int64(max(n, 1))*(e.Live-e.Weights)
	return live + live/4 + runtimeHeapOverhead
}

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

// Estimator computes peaks for the CPU engine from the model's manifest
// (weight sizes as loaded, geometry) and its Arch (layer widths).
//
// The Go heap is the model: a process that keeps working reaches the GC's
// steady state, where the heap grows to (1 + GOGC/100) × its live data
// before each collection, so a long-lived stage's peak is
//
//	Runtime + weight file pages + (1 + GOGC/100) · (weights + live activations)
//
// (text, denoise, chunked decode, encode). The live activations are the
// most that is reachable at once, which for back-to-back requests includes
// what the previous one still holds: a worker of the kernel pool keeps the
// last loop it joined, and with it that loop's buffers, until it joins the
// next one (see vaeCall.retained). A single pass over a large input, like
// decoding a whole latent in one call, is instead bounded by its live
// buffers plus the garbage of the layer before (see tracer):
//
//	Runtime + weight file pages + weights + traced peak.
type Estimator struct {
	// Arch is the model's layer widths (the engine adapter's); the encode
	// estimate, which loads no model, does not need it.
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
	// Threads is how many goroutines a kernel loop runs on, each with its
	// own scratch (packed panels, attention blocks): the engine's kernel
	// pool uses min(GOMAXPROCS, NumCPU), which Default reads from the
	// process. 0 counts as 1.
	Threads int
}

// reelRuntime is `reel stage` measured idle, before Load: 23 MiB, almost
// all of it (21 MiB) file pages of the binary.
const reelRuntime = 23 * MiB

// Default is the estimator for a model of Arch a with GOGC=100 in the reel
// binary, with this process's kernel threads (the engine runs in it).
func Default(a Arch) Estimator {
	return Estimator{Arch: a, GCPercent: 100, Runtime: reelRuntime, EncoderFixed: 3*MiB + MiB/2,
		Threads: min(runtime.GOMAXPROCS(0), runtime.NumCPU())}
}

// threads is Threads, at least 1.
func (e Estimator) threads() int { return max(e.Threads, 1) }

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
func (e Estimator) engineBase(m protocol.Manifest) int64 { return e.Runtime + filePages(m) }

// resident is an engine process after Load.
func (e Estimator) resident(m protocol.Manifest) int64 { return e.engineBase(m) + weightBytes(m) }

// steady is a long-lived engine stage's peak with `live` bytes of
// activations per request, `reachable` at most while requests follow each
// other (live plus what the previous one leaves reachable).
func (e Estimator) steady(what string, m protocol.Manifest, live, reachable int64) Estimate {
	w := weightBytes(m)
	return Estimate{What: what, Resident: e.resident(m), Peak: e.engineBase(m) + e.headroom(w+max(live, reachable)),
		Base: e.engineBase(m), Live: w + live, Weights: w}
}

// Text is the text stage: a prompt and the negative prompt per job.
func (e Estimator) Text(m protocol.Manifest) Estimate {
	live := textEncode(m, e.threads()) + 2*f32*int64(m.TextLength*m.TextDim)
	return e.steady("encode text", m, live, live)
}

// Denoise is the denoise stage for one job, with classifier-free guidance
// (two text conditions, so every activation is doubled). Steps do not
// raise the bound: Sample allocates its buffers (attention scratch
// included) once and reuses them every step. What steps and jobs leave
// behind is garbage, which fills the GC headroom the steady state counts
// over a worker's jobs (a single short job can stay well below the
// estimate). An FP8 DiT is the built-in one; otherwise the DiT is float32
// from a BF16/F32 checkpoint read from disk, which Load also holds in the
// heap while it converts it.
//
// A job longer than its window (window frames; 0 = the model's
// WindowFrames) is sampled window by window (model.SampleWindows): the DiT
// holds one window's buffers, and beyond them the sampler keeps the whole
// video's noise and latent.
func (e Estimator) Denoise(m protocol.Manifest, frames, steps, window int) Estimate {
	prec := "FP8"
	if !m.FP8 {
		prec = "F32"
	}
	if window == 0 {
		window = m.WindowFrames
	}
	t := latentFrames(m, frames)
	live := e.Arch.ditSample(m, t, 2, e.threads())
	if w := latentFrames(m, window); w > 0 && t > w {
		whole := f32 * int64(m.LatentChannels*t*m.LatentHeight*m.LatentWidth)
		live = e.Arch.ditSample(m, w, 2, e.threads()) + 2*whole
	}
	est := e.steady(fmt.Sprintf("denoise %d frames, %d steps, %s", frames, steps, prec), m, live, live)
	if !m.FP8 {
		// Load holds the file bytes and the weights widened from them at
		// once; the file's heap pages stay resident after Load for reuse.
		// The GC's goal after Load counts both, and the heap grows to it
		// before the first collection frees the file: in a process that
		// loads the DiT alone (a denoise stage) that is the peak.
		est.Resident += m.Files.DiT
		est.Peak = max(est.Peak, est.Resident, e.engineBase(m)+e.headroom(weightBytes(m)+m.Files.DiT))
	}
	return est
}

// vaeTrace replays decode calls over t latent frames, each after the one
// before: calls = 1 is one call in a fresh process, 2 the steady state of
// a worker that keeps decoding (the second call starts while the first
// one's buffers are still reachable).
func (e Estimator) vaeTrace(m protocol.Manifest, t, calls int) tracer {
	var tr tracer
	c := e.Arch.vaeGeometry(m, t)
	prev, kept := int64(0), decoderKept{oneOff: t > m.LatentFramesPerChunk}
	for range calls {
		c.replay(&tr, e.threads(), prev, &kept)
		prev = c.retained()
	}
	return tr
}

// DecodeChunk is the VAE stage decoding one chunk (LatentFramesPerChunk
// latent frames into FramesPerChunk frames) at a time, in a worker that
// keeps decoding: it does not depend on the video's length. A chunk's
// latent and video are allocated while the previous chunk's video is still
// reachable (see vaeCall.retained), so the steady state counts two calls.
func (e Estimator) DecodeChunk(m protocol.Manifest) Estimate {
	one := e.vaeTrace(m, m.LatentFramesPerChunk, 1)
	two := e.vaeTrace(m, m.LatentFramesPerChunk, 2)
	return e.steady("decode one chunk", m, one.livePeak, two.livePeak)
}

// DecodeWhole is decoding a whole latent of `frames` frames in one call
// (model.Engine.DecodeLatent): memory grows with length. It is a single
// pass, so the traced peak (live buffers plus the previous layer's garbage)
// is the model rather than the steady state.
func (e Estimator) DecodeWhole(m protocol.Manifest, frames int) Estimate {
	tr := e.vaeTrace(m, latentFrames(m, frames), 1)
	r, w := e.resident(m), weightBytes(m)
	return Estimate{What: fmt.Sprintf("decode %d frames in one call", frames), Resident: r, Peak: r + tr.peak,
		Base: e.engineBase(m), Live: w + tr.livePeak, Weights: w}
}

// Encode is the encode stage for one job of `frames` frames of m's frame
// size in its own process (it loads no model): the writer keeps every
// RGB24 frame for the previews and the pure-Go fallback, and Close holds
// the encoded samples (I_PCM: 384 bytes per 16×16 macroblock) and the
// GIF's paletted frames. ffmpeg, when used, is a separate process with its
// own memory.
func (e Estimator) Encode(m protocol.Manifest, frames int) Estimate {
	px := int64(m.Width * m.Height)
	mbs := int64((m.Width + 15) / 16 * ((m.Height + 15) / 16))
	perFrame := 3*px + 384*mbs + px // RGB24, I_PCM sample, GIF frame
	r := e.Runtime + e.EncoderFixed
	live := int64(frames) * perFrame
	return Estimate{What: fmt.Sprintf("encode %d frames", frames), Resident: r, Peak: r + e.headroom(live), Base: r, Live: live}
}
