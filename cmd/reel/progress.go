package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
	"github.com/schollz/progressbar/v3"
)

// progress shows a job's events: one bar on a terminal (denoise steps, chunks
// decoded, chunks muxed), plain lines otherwise.
type progress struct {
	w        io.Writer
	bar      *progressbar.ProgressBar
	steps    int
	step     int
	decoded  map[int]bool // chunk indices: a redelivered chunk's event counts once
	muxed    map[int]bool
	chunks   int
	textDone bool
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

func (p *progress) event(ev protocol.Event) {
	switch {
	case ev.Kind == protocol.EventDone && ev.Stage == protocol.StageTextEnc:
		p.textDone = true
	case ev.Kind == protocol.EventStep:
		p.step = ev.Step
		if ev.Total > 0 {
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
	done, text := p.step+len(p.decoded)+len(p.muxed), "…"
	if p.textDone {
		done, text = done+1, "✓"
	}
	p.bar.Describe(fmt.Sprintf("text %s · denoise %d/%d · decoded %d/%d · muxed %d/%d",
		text, p.step, p.steps, len(p.decoded), p.chunks, len(p.muxed), p.chunks))
	_ = p.bar.Set(done)
}

func (p *progress) line(ev protocol.Event) {
	switch ev.Kind {
	case protocol.EventStep:
		fmt.Fprintf(p.w, "%s %s step %d/%d\n", ev.Job, ev.Stage, ev.Step, ev.Total)
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

// follow shows a job's events from the start until it ends and returns its
// final record.
func follow(ctx context.Context, b *bus.Bus, store *orchestrator.Store, id string, w io.Writer) (*orchestrator.Job, error) {
	j, err := store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	p := newProgress(w, j.Settings)
	defer p.finish()
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		j   *orchestrator.Job
		err error
	}
	done := make(chan result, 1)
	go func() {
		j, err := store.Wait(fctx, id)
		done <- result{j, err}
	}()
	cons, err := b.JS.OrderedConsumer(fctx, protocol.EventsStreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{protocol.EventSubject(id)},
	})
	if err != nil {
		return nil, err
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, err
	}
	defer it.Stop()
	events := make(chan protocol.Event)
	go func() {
		for {
			m, err := it.Next(jetstream.NextContext(fctx))
			if err != nil {
				return
			}
			var ev protocol.Event
			if json.Unmarshal(m.Data(), &ev) == nil {
				select {
				case events <- ev:
				case <-fctx.Done():
					return
				}
			}
		}
	}()
	ended := func(ev protocol.Event) bool {
		return ev.Kind == protocol.EventSucceeded || ev.Kind == protocol.EventFailed || ev.Kind == protocol.EventCancelled
	}
	for {
		select {
		case ev := <-events:
			p.event(ev)
			if ended(ev) {
				return store.Get(ctx, id)
			}
		case r := <-done:
			if r.err != nil {
				return nil, r.err
			}
			// The record ends just before its last event is appended: show
			// that event too, unless it never comes.
			late := time.After(2 * time.Second)
			for {
				select {
				case ev := <-events:
					p.event(ev)
					if !ended(ev) {
						continue
					}
				case <-late:
				}
				return r.j, nil
			}
		}
	}
}
