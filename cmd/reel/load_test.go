package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/envconfig"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages/worker"
	"github.com/rs/zerolog"
)

// vmHWM reads a process's peak RSS (KiB); resetPeak clears it (Linux).
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:")), "%d", &kb)
			return kb
		}
	}
	t.Fatalf("no VmHWM for %d", pid)
	return 0
}

func resetPeak(t *testing.T, pid int) {
	t.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		t.Skipf("cannot reset peak RSS: %v", err)
	}
}

// Load: 200 jobs submitted at once (16 frames, 4 steps) all complete, none
// lost or duplicated, and each stage's peak RSS with the queue deep stays
// close to its peak for a single job (workers hold one message at a time).
// REEL_LOAD_JOBS changes the count; -short runs 40.
func TestLoad200Jobs(t *testing.T) {
	n := envconfig.DefaultLoadJobs
	if testing.Short() {
		n = 40
	}
	n = envconfig.Int(envconfig.LoadJobs, n)
	dir := t.TempDir()
	_, url := start(t, true, "server", "--port", "-1", "--data", filepath.Join(dir, "data"), "--log-format", "json")
	names := []string{"textenc", "denoise", "vaedecode", "encode"}
	pids := map[string]int{}
	for _, s := range names {
		p, _ := start(t, false, "stage", s, "--nats", url, "--log-format", "json", "--log-level", "warn", "--work-dir", dir)
		pids[s] = p.cmd.Process.Pid
	}
	ctx := bustest.Ctx(t, 10*time.Minute)
	b, err := bus.Open(ctx, bus.ConnectConfig{URL: url}, bus.LayoutConfig{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	store := orchestrator.NewStore(b, zerolog.Nop())
	set := protocol.DefaultSettings()
	set.Frames, set.Steps = 16, 4
	runJobs := func(k int) []string {
		ids := make([]string, k)
		for i := range ids {
			id, err := store.Submit(ctx, protocol.Request{Prompt: fmt.Sprintf("load job %d", i)}, set, orchestrator.SubmitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = id
		}
		for _, id := range ids {
			j, err := store.Wait(ctx, id)
			if err != nil {
				t.Fatalf("wait %s: %v", id, err)
			}
			if j.State != protocol.StateSucceeded {
				t.Fatalf("job %s: %s %q", id, j.State, j.Error)
			}
		}
		return ids
	}
	runJobs(1)
	empty := map[string]int64{}
	for _, s := range names {
		empty[s] = vmHWM(t, pids[s])
		resetPeak(t, pids[s])
	}
	start := time.Now()
	runJobs(n)
	took := time.Since(start)
	if v, f := messages(t, ctx, b, "reel.video.*"), messages(t, ctx, b, "reel.frames.*.*"); v != uint64(n+1) || f != uint64(n+1) {
		t.Fatalf("%d videos and %d frame chunks for %d jobs", v, f, n+1)
	}
	t.Logf("%d jobs in %s", n, took.Round(time.Millisecond))
	// Each model stage's process loaded its own model only, as its
	// heartbeat's manifest says (read by `reel workers --json`).
	out, stderr, code := run(t, ctx, "workers", "--json", "--nats", url)
	if code != 0 {
		t.Fatalf("workers: exit %d: %s", code, stderr)
	}
	var infos []worker.WorkerInfo
	if err := json.Unmarshal([]byte(out), &infos); err != nil {
		t.Fatalf("workers --json: %v\n%s", err, out)
	}
	checked := 0
	for _, w := range infos {
		spec, _ := protocol.Spec(w.Stage)
		if !spec.NeedsEngine() || w.Manifest == nil {
			continue
		}
		checked++
		r := w.Manifest.Resident
		held := map[protocol.Model]int64{protocol.ModelText: r.Text, protocol.ModelDiT: r.DiT, protocol.ModelVAE: r.VAE}
		for m, n := range held {
			if (m == spec.Model) != (n > 0) {
				t.Errorf("%s worker holds %d bytes of the %s model (resident %+v)", w.Stage, n, m, r)
			}
		}
	}
	if checked != 3 {
		t.Errorf("%d model stage workers with a manifest, want 3:\n%s", checked, out)
	}
	for _, s := range names {
		deep := vmHWM(t, pids[s])
		t.Logf("%-9s peak RSS: one job %4d MiB, %d queued %4d MiB", s, empty[s]>>10, n, deep>>10)
		if deep > empty[s]*3/2+32<<10 {
			t.Errorf("%s: peak RSS %d MiB with a deep queue vs %d MiB for one job", s, deep>>10, empty[s]>>10)
		}
	}
}

// A bare `reel server` (no stages) loads no model: its API's manifest is
// read from the checkpoints (model.Describe). Loading the whole engine for
// it took its peak RSS from 39 to 90 MiB here. The bound, the weights' own
// size plus 16 MiB, is above a bare server's peak and below that of a
// server holding the weights besides what it needs itself.
func TestBareServerLoadsNoModel(t *testing.T) {
	e, err := model.Load(model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := e.Manifest()
	weights := m.Resident.Total() + m.Files.Total()
	p, _ := start(t, true, "server", "--port", "-1", "--data", filepath.Join(t.TempDir(), "data"), "--replicas", "none", "--api", "127.0.0.1:0")
	peak := vmHWM(t, p.cmd.Process.Pid) << 10
	t.Logf("bare server peak RSS %d MiB; the engine's weights %d MiB", peak>>20, weights>>20)
	if limit := weights + 16<<20; peak > limit {
		t.Errorf("a bare server's peak RSS is %d MiB, more than %d MiB: it loaded a model", peak>>20, limit>>20)
	}
}
