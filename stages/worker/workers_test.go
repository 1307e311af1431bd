package worker_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages/worker"
)

// The watched worker map follows puts and deletes of reel-workers without
// listing the bucket, and drops a heartbeat older than the TTL even before
// the server expires it.
func TestWatchWorkers(t *testing.T) {
	e := setup(t, bus.LayoutConfig{})
	ctx := bustest.Ctx(t, 30*time.Second)
	put := func(key string, w worker.WorkerInfo) {
		t.Helper()
		data, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.b.Workers.Put(ctx, key, data); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	put("denoise.old", worker.WorkerInfo{Worker: "old", Stage: protocol.StageDenoise, Seen: now})
	ws, err := worker.WatchWorkers(ctx, e.b.Workers, e.b.Cfg.WorkerTTL)
	if err != nil {
		t.Fatal(err)
	}
	ids := func() []string {
		var out []string
		for _, w := range ws.Stage(protocol.StageDenoise) {
			out = append(out, w.Worker)
		}
		return out
	}
	if got := ids(); len(got) != 1 || got[0] != "old" {
		t.Fatalf("initial map %v, want [old]", got)
	}
	until := func(what string, cond func([]string) bool) {
		t.Helper()
		for {
			changed := ws.Changed()
			if cond(ids()) {
				return
			}
			select {
			case <-changed:
			case <-ctx.Done():
				t.Fatalf("map never %s: %v", what, ids())
			}
		}
	}
	put("denoise.new", worker.WorkerInfo{Worker: "new", Stage: protocol.StageDenoise, Seen: now, Manifest: &protocol.Manifest{Model: "m"}})
	put("textenc.other", worker.WorkerInfo{Worker: "other", Stage: protocol.StageTextEnc, Seen: now})
	until("has new", func(got []string) bool { return len(got) == 2 && got[0] == "new" && got[1] == "old" })
	if m := ws.Stage(protocol.StageDenoise)[0].Manifest; m == nil || m.Model != "m" {
		t.Fatalf("manifest not carried: %+v", m)
	}
	if err := e.b.Workers.Delete(ctx, "denoise.old"); err != nil {
		t.Fatal(err)
	}
	until("drops the deleted", func(got []string) bool { return len(got) == 1 && got[0] == "new" })
	changed := ws.Changed()
	put("denoise.stale", worker.WorkerInfo{Worker: "stale", Stage: protocol.StageDenoise, Seen: now.Add(-2 * e.b.Cfg.WorkerTTL)})
	select {
	case <-changed: // the stale heartbeat is in the map ...
	case <-ctx.Done():
		t.Fatal("the stale heartbeat never arrived")
	}
	if got := ids(); len(got) != 1 || got[0] != "new" { // ... but not live
		t.Fatalf("with a stale heartbeat: %v, want [new]", got)
	}
}
