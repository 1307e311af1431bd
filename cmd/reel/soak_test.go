package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/envconfig"
	"github.com/reel-video/reel/orchestrator"
	"github.com/rs/zerolog"
)

// The chaos soak (REEL_SOAK=1; REEL_SOAK_JOBS, default 100): jobs on a
// three-node cluster while a loop kill -9s random stage processes (and
// restarts them) and kill -9s and restarts a random cluster node.
// Afterwards every job succeeded exactly once, each (prompt, seed) has one
// frames hash, and the dead-letter stream is empty. The counts it logs are
// recorded in docs/reliability.md.
func TestChaosSoak(t *testing.T) {
	if !envconfig.Bool(envconfig.Soak) {
		t.Skip("set REEL_SOAK=1 to run the chaos soak")
	}
	jobsN := 100
	if n, err := strconv.Atoi(envconfig.String(envconfig.SoakJobs)); err == nil && n > 0 {
		jobsN = n
	}
	r := newClusterRig(t, "3s")
	ctx := bustest.Ctx(t, 25*time.Minute)
	names := []string{"textenc", "denoise", "denoise", "vaedecode", "vaedecode", "encode"}
	var mu sync.Mutex
	procs := make([]*proc, len(names))
	for i, s := range names {
		procs[i] = r.stage(s)
	}
	admin, err := bus.Open(ctx, bus.ConnectConfig{URL: r.urls, Name: t.Name()}, bus.LayoutConfig{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	store := orchestrator.NewStore(admin, zerolog.Nop())

	// The chaos loop.
	chaosCtx, stopChaos := context.WithCancel(ctx)
	var stageKills, nodeKills int
	chaosDone := make(chan struct{})
	go func() {
		defer close(chaosDone)
		rng := rand.New(rand.NewPCG(1, 2))
		tick := time.NewTicker(4 * time.Second)
		defer tick.Stop()
		for n := 1; ; n++ {
			select {
			case <-chaosCtx.Done():
				return
			case <-tick.C:
			}
			if n%6 == 0 {
				node := r.c.Nodes[rng.IntN(len(r.c.Nodes))]
				r.c.Kill(node)
				nodeKills++
				r.c.Start(node)
				r.c.WaitHealthy(node, 2*time.Minute)
				continue
			}
			i := rng.IntN(len(procs))
			mu.Lock()
			p := procs[i]
			_ = p.cmd.Process.Kill()
			_ = p.wait(ctx)
			stageKills++
			procs[i] = r.stage(names[i])
			mu.Unlock()
		}
	}()

	type key struct {
		prompt string
		seed   int
	}
	prompts := []string{"a red circle moving right", "a blue square moving up", "a green triangle moving left"}
	ids := make([]string, jobsN)
	keys := make([]key, jobsN)
	for i := range ids {
		keys[i] = key{prompts[i%len(prompts)], i % 5}
		ids[i] = lastLine(r.client(ctx, "submit", keys[i].prompt, "--frames", "32", "--steps", "4", "--seed", fmt.Sprint(keys[i].seed)))
	}
	hashes := map[key]map[string]int{}
	lost := 0
	for i, id := range ids {
		var j *orchestrator.Job
		err := bus.ClientRetry.Do(ctx, zerolog.Nop(), "wait", func(ctx context.Context) error {
			var err error
			j, err = store.Wait(ctx, id)
			return err
		})
		if err != nil || j.State != protocol.StateSucceeded {
			lost++
			t.Errorf("job %s: %v %v", id, err, j)
			continue
		}
		if hashes[keys[i]] == nil {
			hashes[keys[i]] = map[string]int{}
		}
		hashes[keys[i]][j.Video.FramesSHA256]++
	}
	stopChaos()
	<-chaosDone
	for _, n := range r.c.Nodes {
		r.c.WaitHealthy(n, 2*time.Minute)
	}
	duplicated := 0
	for _, id := range ids {
		if n := succeededEvents(t, ctx, admin, id); n != 1 {
			duplicated++
			t.Errorf("job %s: %d succeeded events", id, n)
		}
		if n := clusterMessages(t, ctx, admin, protocol.VideoSubject(id)); n != 1 {
			t.Errorf("job %s: %d video messages", id, n)
		}
	}
	for k, hs := range hashes {
		if len(hs) != 1 {
			t.Errorf("%+v: %d different frames hashes: %v", k, len(hs), hs)
		}
	}
	dlq, err := admin.DLQ.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dlq.State.Msgs != 0 {
		t.Errorf("dead-letter stream holds %d advisories", dlq.State.Msgs)
	}
	t.Logf("soak: %d jobs, faults injected %d (stage kill -9 %d, node kill -9 + restart %d), lost %d, duplicated %d, dead letters %d, distinct (prompt, seed) %d each with one frames hash",
		jobsN, stageKills+nodeKills, stageKills, nodeKills, lost, duplicated, dlq.State.Msgs, len(hashes))
}
