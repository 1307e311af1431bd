package main

import (
	"context"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages/worker"
	"github.com/rs/zerolog"
)

// idleCheckEvery is how often the server looks for work no worker can take.
const idleCheckEvery = 10 * time.Second

// warnIdleStages warns, once per stretch, when messages wait for a stage
// that has no live worker (e.g. `reel server --replicas none` and no
// `reel stage` attached): otherwise the job just sits queued.
func warnIdleStages(ctx context.Context, b *bus.Bus, log zerolog.Logger, url string) {
	t := time.NewTicker(idleCheckEvery)
	defer t.Stop()
	warned := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ws, err := worker.ListWorkers(ctx, b)
		if err != nil {
			continue
		}
		live := map[string]bool{}
		for _, w := range ws {
			live[w.Stage] = true
		}
		for _, st := range protocol.Stages() {
			// Attach as a stage would (creating the durable consumer if no
			// stage ever did), so its pending count covers every message.
			cons, err := b.Consumer(ctx, st)
			if err != nil {
				continue
			}
			info, err := cons.Info(ctx)
			if err != nil {
				continue
			}
			waiting := info.NumPending + uint64(info.NumAckPending)
			if waiting == 0 || live[st] {
				warned[st] = false
				continue
			}
			if !warned[st] {
				log.Warn().Str("stage", st).Uint64("waiting", waiting).
					Msgf("%d message(s) wait for stage %s, which has no live worker: start one with 'reel stage %s --nats %s' (or run the server with --replicas all)", waiting, st, st, url)
				warned[st] = true
			}
		}
	}
}
