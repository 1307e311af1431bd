package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
)

// A split deployment (a bare `reel server` and one `reel stage` process per
// stage), 100 jobs published as prompts at once, a watcher per job reading
// the events as `reel watch` does (and ten real `reel watch` processes):
// every watcher sees its job's ending event, and no job record disagrees
// with its events.
func TestSplitDeploymentWatchers(t *testing.T) {
	if testing.Short() {
		t.Skip("100 jobs through four stage processes")
	}
	const jobs, watchProcs = 100, 10
	dir := t.TempDir()
	_, url := start(t, true, "server", "--port", "-1", "--data", filepath.Join(dir, "data"), "--log-format", "json")
	for _, s := range protocol.Stages() {
		start(t, false, "stage", s, "--nats", url, "--log-format", "json", "--work-dir", dir, "--ffmpeg", "none")
	}
	ctx := bustest.Ctx(t, 3*time.Minute)
	b, err := bus.Open(ctx, bus.ConnectConfig{URL: url, Name: t.Name()}, bus.LayoutConfig{}, bustest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	store := orchestrator.NewStore(b, bustest.Logger(t))

	type seen struct {
		events []protocol.Event
		err    error
	}
	results := make([]seen, jobs)
	procs := make([]int, watchProcs)
	var wg sync.WaitGroup
	id := func(i int) string { return fmt.Sprintf("split-%03d", i) }
	for i := range jobs {
		// Each watcher starts as its prompt is published, as a client
		// running `reel watch` right after publishing would.
		wg.Go(func() {
			results[i].err = store.Follow(ctx, id(i), func(ev protocol.Event) { results[i].events = append(results[i].events, ev) })
		})
		if i < watchProcs {
			wg.Go(func() { _, _, procs[i] = run(t, ctx, "watch", id(i), "--nats", url) })
		}
		prompt := fmt.Sprintf(`{"prompt":"a red circle moving right","settings":{"frames":16,"steps":1,"seed":%d}}`, i)
		if _, err := b.JS.Publish(ctx, protocol.PromptSubject(id(i)), []byte(prompt)); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("watcher of %s: %v after %d events", id(i), r.err, len(r.events))
		}
		last := r.events[len(r.events)-1]
		if last.Kind != protocol.EventSucceeded {
			t.Errorf("watcher of %s ended on %+v", id(i), last)
		}
	}
	for i, code := range procs {
		if code != 0 {
			t.Errorf("reel watch %s: exit %d", id(i), code)
		}
	}
	// The projection catches up with every job; then each record is the
	// fold of its job's events.
	for i := range jobs {
		if err := store.Settled(ctx, id(i)); err != nil {
			t.Fatalf("record of %s never ended: %v", id(i), err)
		}
		rec, err := store.Get(ctx, id(i))
		if err != nil {
			t.Fatal(err)
		}
		evs, err := store.Events(ctx, id(i))
		if err != nil {
			t.Fatal(err)
		}
		folded := orchestrator.Fold(id(i), evs)
		folded.Seq = rec.Seq
		want, _ := json.Marshal(folded)
		got, _ := json.Marshal(rec)
		if string(got) != string(want) {
			t.Errorf("record of %s disagrees with its events:\nrecord %s\nevents %s", id(i), got, want)
		}
		if rec.State != protocol.StateSucceeded || rec.Settings.Seed != int64(i) {
			t.Errorf("%s: %s, seed %d", id(i), rec.State, rec.Settings.Seed)
		}
	}
}
