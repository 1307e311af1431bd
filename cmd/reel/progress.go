package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
	"github.com/schollz/progressbar/v3"
)

// progress shows a job's events: one bar on a terminal (denoise steps, chunks
// decoded, chunks muxed), plain lines otherwise.
type progress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	steps int
	step  int
	// window of windows is where step is, in a job denoised in windows
	// (each window counts its own steps).
	window, windows int
	stepsNow        int          // the current window's step count
	decoded         map[int]bool // chunk indices: a redelivered chunk's event counts once
	muxed           map[int]bool
	chunks          int
	textDone        bool
}

func newProgress(w io.Writer, set protocol.Settings) *progress {
	p := &progress{w: w, steps: set.Steps, chunks: set.Chunks(), decoded: map[int]bool{}, muxed: map[int]bool{}}
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		p.bar = progressbar.NewOptions(1+p.steps+2*p.chunks,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetDescription("queued"),
		)
	}
	return p
}

// settings takes the job's settings from its submitted event (the bar is
// sized by them; until then the defaults stand in).
func (p *progress) settings(set protocol.Settings) {
	p.steps, p.chunks = set.Steps, set.Chunks()
	if src := set.Source; src != nil && src.Kind == protocol.SourceExtend {
		for i := range src.Chunks { // the parent's frames, copied: not decoded again
			p.decoded[i] = true
		}
	}
	if p.bar != nil {
		p.bar.ChangeMax(1 + p.steps + 2*p.chunks)
	}
}

func (p *progress) event(ev protocol.Event) {
	switch {
	case ev.Kind == protocol.EventDone && ev.Stage == protocol.StageTextEnc:
		p.textDone = true
	case ev.Kind == protocol.EventStep:
		p.step, p.window, p.windows, p.stepsNow = ev.Step, ev.Window, ev.Windows, ev.Total
		if ev.Total > 0 && ev.Windows == 0 {
			p.steps = ev.Total
		}
	case ev.Kind == protocol.EventChunk && ev.Stage == protocol.StageVAEDecode:
		p.decoded[ev.Chunk] = true
	case ev.Kind == protocol.EventChunk && ev.Stage == protocol.StageEncode:
		p.muxed[ev.Chunk] = true
	}
	if p.bar == nil {
		p.line(ev)
		return
	}
	denoised, denoise := p.step, fmt.Sprintf("%d/%d", p.step, p.steps)
	if p.windows > 0 && p.stepsNow > 0 {
		// The bar's p.steps share, split evenly among the windows.
		denoised = p.steps * ((p.window-1)*p.stepsNow + p.step) / (p.windows * p.stepsNow)
		denoise = fmt.Sprintf("window %d/%d step %d/%d", p.window, p.windows, p.step, p.stepsNow)
	}
	done, text := denoised+len(p.decoded)+len(p.muxed), "…"
	if p.textDone {
		done, text = done+1, "✓"
	}
	p.bar.Describe(fmt.Sprintf("text %s · denoise %s · decoded %d/%d · muxed %d/%d",
		text, denoise, len(p.decoded), p.chunks, len(p.muxed), p.chunks))
	_ = p.bar.Set(done)
}

func (p *progress) line(ev protocol.Event) {
	switch ev.Kind {
	case protocol.EventStep:
		if ev.Windows > 0 {
			fmt.Fprintf(p.w, "%s %s window %d/%d step %d/%d\n", ev.Job, ev.Stage, ev.Window, ev.Windows, ev.Step, ev.Total)
		} else {
			fmt.Fprintf(p.w, "%s %s step %d/%d\n", ev.Job, ev.Stage, ev.Step, ev.Total)
		}
	case protocol.EventChunk:
		verb, n := "decoded", len(p.decoded)
		if ev.Stage == protocol.StageEncode {
			verb, n = "muxed", len(p.muxed)
		}
		fmt.Fprintf(p.w, "%s %s %s chunk %d (%d/%d)\n", ev.Job, ev.Stage, verb, ev.Chunk, n, ev.Count)
	case protocol.EventStarted:
		if ev.Count == 0 || ev.Stage != protocol.StageVAEDecode {
			fmt.Fprintf(p.w, "%s %s started on %s\n", ev.Job, ev.Stage, ev.Worker)
		}
	case protocol.EventRetry:
		fmt.Fprintf(p.w, "%s %s retrying: %s\n", ev.Job, ev.Stage, ev.Error)
	case protocol.EventFailed:
		fmt.Fprintf(p.w, "%s failed in %s: %s\n", ev.Job, ev.Stage, ev.Error)
	case protocol.EventCancelled:
		fmt.Fprintf(p.w, "%s cancelled\n", ev.Job)
	case protocol.EventSucceeded:
		if ev.Video != nil {
			fmt.Fprintf(p.w, "%s succeeded: %d frames, %d fps, %s encoder\n", ev.Job, ev.Video.Frames, ev.Video.FPS, ev.Video.Encoder)
		}
	case protocol.EventDone:
		fmt.Fprintf(p.w, "%s %s done\n", ev.Job, ev.Stage)
	case protocol.EventSubmitted:
		fmt.Fprintf(p.w, "%s submitted\n", ev.Job)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// notFoundAfter is how long follow waits for the first sign of a job that
// is not on the bus yet: a plain `nats pub` returns before the server has
// stored the prompt, and a watcher started right after it must not call
// the job unknown.
const notFoundAfter = 3 * time.Second

// settleAfter bounds the wait, once the job has ended, for the projection
// to show the end too, so that a `reel status` or `reel get` run right after
// follow returns sees what follow saw.
const settleAfter = 5 * time.Second

// follow shows a job's events from its first through the first ending one,
// read from one source, the job's events (REEL_EVENTS), and returns the
// record they fold to.
func follow(ctx context.Context, store *orchestrator.Store, id string, w io.Writer) (*orchestrator.Job, error) {
	known, err := store.Exists(ctx, id)
	if err != nil {
		return nil, err
	}
	fctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := func() bool { return true }
	if !known {
		t := time.AfterFunc(notFoundAfter, func() { cancel(fmt.Errorf("%w: %s", orchestrator.ErrNotFound, id)) })
		stop = t.Stop
	}
	p := newProgress(w, protocol.DefaultSettings())
	defer p.finish()
	var evs []protocol.Event
	err = store.Follow(fctx, id, func(ev protocol.Event) {
		if len(evs) == 0 {
			stop()
		}
		if ev.Kind == protocol.EventSubmitted && ev.Settings != nil {
			p.settings(*ev.Settings)
		}
		p.event(ev)
		evs = append(evs, ev)
	})
	if err != nil {
		if cause := context.Cause(fctx); errors.Is(cause, orchestrator.ErrNotFound) {
			return nil, cause
		}
		return nil, err
	}
	sctx, scancel := context.WithTimeout(ctx, settleAfter)
	defer scancel()
	_ = store.Settled(sctx, id) // a projector that lags or is not running: the events have said it
	return orchestrator.Fold(id, evs), nil
}
