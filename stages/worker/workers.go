package worker

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus/protocol"
)

// Workers is the live worker heartbeats (KV reel-workers), kept in memory
// by one KV watch: admission asks it about the other workers of a stage on
// every message without a KV round trip. A heartbeat older than the
// bucket's TTL counts as gone even before the server expires it (an
// expiry is not announced to watchers).
type Workers struct {
	ttl     time.Duration
	started time.Time

	mu      sync.Mutex
	byKey   map[string]WorkerInfo
	changed chan struct{} // closed and replaced on every update
	synced  bool
}

// WatchWorkers starts watching the workers bucket and returns once the
// current heartbeats are loaded; the watch ends with ctx. ttl is the
// heartbeat expiry (the layout's WorkerTTL).
func WatchWorkers(ctx context.Context, kv jetstream.KeyValue, ttl time.Duration) (*Workers, error) {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", protocol.WorkersBucket, err)
	}
	ws := &Workers{ttl: ttl, started: time.Now(), byKey: map[string]WorkerInfo{}, changed: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		defer func() { _ = w.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil { // the initial values are all in
					ws.mu.Lock()
					if !ws.synced {
						ws.synced = true
						close(ready)
					}
					ws.mu.Unlock()
					continue
				}
				ws.apply(e)
			}
		}
	}()
	select {
	case <-ready:
		return ws, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (ws *Workers) apply(e jetstream.KeyValueEntry) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	switch e.Operation() {
	case jetstream.KeyValuePut:
		var info WorkerInfo
		if json.Unmarshal(e.Value(), &info) != nil {
			return
		}
		ws.byKey[e.Key()] = info
	default: // delete, purge
		delete(ws.byKey, e.Key())
	}
	close(ws.changed)
	ws.changed = make(chan struct{})
}

// Warm reports whether the map has watched for a heartbeat interval
// (a third of the TTL): long enough that every live worker, including one
// started together with this process, has put its heartbeat. Before that,
// a worker missing from the map may just not have reported yet.
func (ws *Workers) Warm() bool { return time.Since(ws.started) >= ws.ttl/3 }

// Changed is closed at the next update of any heartbeat.
func (ws *Workers) Changed() <-chan struct{} {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return ws.changed
}

// Stage returns the live heartbeats of a stage's workers, by worker id.
func (ws *Workers) Stage(stage string) []WorkerInfo {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	cutoff := time.Now().Add(-ws.ttl)
	var out []WorkerInfo
	for _, w := range ws.byKey {
		if w.Stage == stage && w.Seen.After(cutoff) {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b WorkerInfo) int { return cmp.Compare(a.Worker, b.Worker) })
	return out
}
