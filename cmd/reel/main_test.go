package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/rs/zerolog"
)

// End to end: `reel generate` on an embedded server writes an MP4 that
// ffprobe reads as 48 frames of 64×64 at 8 fps.
func TestGenerateEndToEnd(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.mp4")
	stdout, stderr, code := run(t, bustest.Ctx(t, 3*time.Minute), "generate", "a red ball bouncing on grass",
		"--frames", "48", "--steps", "4", "--seed", "3", "--data", filepath.Join(dir, "data"), "-o", out)
	if code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	if got := lastLine(stdout); got != out {
		t.Fatalf("generate printed %q, want %q", got, out)
	}
	p := bustest.FFprobe(t, out)
	if want := (bustest.Probe{Codec: "h264", PixFmt: "yuv420p", Size: "64x64", Rate: "8/1", Frames: "48"}); p != want {
		t.Fatalf("ffprobe: got %+v, want %+v", p, want)
	}
	for _, want := range []string{"denoise step 4/4", "decoded chunk 2", "muxed chunk 2"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("progress lacks %q:\n%s", want, stderr)
		}
	}
}

// Bad settings are refused before anything runs (no data directory made).
func TestGenerateRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cases := map[string][]string{
		"frames":   {"--frames", "20"},
		"steps":    {"--steps", "0"},
		"guidance": {"--guidance", "-1"},
		"shift":    {"--shift", "0"},
		"prompt":   {"--frames", "16", "--negative", "", strings.Repeat("x", 5000)},
	}
	for field, args := range cases {
		a := append([]string{"generate", "--data", data}, args...)
		if field != "prompt" {
			a = append(a, "ok prompt")
		}
		_, stderr, code := run(t, bustest.Ctx(t, time.Minute), a...)
		if code == 0 || !strings.Contains(stderr, field+":") {
			t.Errorf("%s: exit %d, stderr %q", field, code, stderr)
		}
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatalf("data directory was created: %v", err)
	}
}

// Every stage in its own OS process (two vaedecode processes) against a
// `reel server`; the client commands drive the job.
func TestStagesInSeparateProcesses(t *testing.T) {
	dir := t.TempDir()
	_, url := start(t, true, "server", "--port", "-1", "--data", filepath.Join(dir, "data"), "--log-format", "json")
	if !strings.HasPrefix(url, "nats://") {
		t.Fatalf("server printed %q", url)
	}
	for _, s := range []string{"textenc", "denoise", "vaedecode", "vaedecode", "encode"} {
		start(t, false, "stage", s, "--nats", url, "--log-format", "json", "--work-dir", dir)
	}
	ctx := bustest.Ctx(t, 3*time.Minute)
	stdout, stderr, code := run(t, ctx, "submit", "a boat on a lake", "--frames", "48", "--steps", "3", "--nats", url)
	if code != 0 {
		t.Fatalf("submit: %d %s", code, stderr)
	}
	id := lastLine(stdout)
	if _, stderr, code := run(t, ctx, "watch", id, "--nats", url); code != 0 {
		t.Fatalf("watch: exit %d\n%s", code, stderr)
	}
	status, _, code := run(t, ctx, "status", id, "--nats", url)
	if code != 0 || !strings.Contains(status, "succeeded") {
		t.Fatalf("status: %d\n%s", code, status)
	}
	for _, s := range []string{"textenc", "denoise", "vaedecode", "encode"} {
		if !strings.Contains(status, "  "+s) {
			t.Errorf("status has no line for %s:\n%s", s, status)
		}
	}
	out := filepath.Join(dir, "got.mp4")
	if _, stderr, code := run(t, ctx, "get", id, "-o", out, "--nats", url); code != 0 {
		t.Fatalf("get: %d %s", code, stderr)
	}
	if p := bustest.FFprobe(t, out); p.Frames != "48" || p.Size != "64x64" || p.Rate != "8/1" {
		t.Fatalf("ffprobe: %+v", p)
	}
	jobs, _, _ := run(t, ctx, "jobs", "--nats", url)
	if !strings.Contains(jobs, id) {
		t.Fatalf("jobs lacks %s:\n%s", id, jobs)
	}
	workers, _, _ := run(t, ctx, "workers", "--nats", url)
	if n := strings.Count(workers, "vaedecode"); n < 2 {
		t.Errorf("workers shows %d vaedecode workers:\n%s", n, workers)
	}

	// Replay the encode stage at another fps: a new job linked to the first.
	rout, stderr, code := run(t, ctx, "replay", "--stage", "encode", "--job", id, "--set", "fps=16", "--watch", "--nats", url)
	if code != 0 {
		t.Fatalf("replay: exit %d\n%s", code, stderr)
	}
	rid := lastLine(rout)
	rstatus, _, _ := run(t, ctx, "status", rid, "--nats", url)
	if !strings.Contains(rstatus, "succeeded") || !strings.Contains(rstatus, "replay of "+id+" from encode") || !strings.Contains(rstatus, "reused from "+id) {
		t.Fatalf("status of the replay:\n%s", rstatus)
	}
	if _, stderr, code := run(t, ctx, "replay", "--stage", "vaedecode", "--job", id, "--set", "seed=3", "--nats", url); code == 0 || !strings.Contains(stderr, "seed: cannot be changed") {
		t.Fatalf("replay with a bad override: exit %d %s", code, stderr)
	}

	// A cancelled job: watch exits non-zero.
	stdout, _, _ = run(t, ctx, "submit", "a slow one", "--frames", "16", "--steps", "200", "--nats", url)
	id2 := lastLine(stdout)
	if _, stderr, code := run(t, ctx, "cancel", id2, "--nats", url); code != 0 {
		t.Fatalf("cancel: %d %s", code, stderr)
	}
	if _, _, code := run(t, ctx, "watch", id2, "--nats", url); code != 2 {
		t.Fatalf("watch of a cancelled job: exit %d, want 2", code)
	}
}

// Ctrl-C during generate cancels the job and shuts down cleanly: exit 130,
// the store directory is released and the job is recorded as cancelled.
func TestGenerateInterruptCancels(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	ctx := bustest.Ctx(t, 2*time.Minute)
	p, _ := start(t, false, "generate", "an endless river", "--frames", "48", "--steps", "200", "--data", data, "-o", filepath.Join(dir, "x.mp4"))
	if err := p.stderr.waitFor(ctx, "denoise step 2/200"); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr)
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	err := p.wait(ctx)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("generate after Ctrl-C: %v\n%s", err, p.stderr)
	}
	out := p.stderr.String()
	if !strings.Contains(out, "cancelled") {
		t.Fatalf("no cancel message:\n%s", out)
	}
	id := strings.TrimPrefix(strings.SplitN(out, "\n", 2)[0], "job ")
	// The store directory is free again; the job is recorded as cancelled.
	_, url := start(t, true, "server", "--port", "-1", "--data", data)
	status, _, _ := run(t, ctx, "status", id, "--nats", url)
	if !strings.HasPrefix(status, "job "+id+" cancelled") {
		t.Fatalf("status after Ctrl-C:\n%s", status)
	}
}

// generate on a store a `reel server` holds fails with a hint, without
// waiting on or leaking what starts alongside the server (the GPU probe and
// the engines load concurrently): it exits 1, names the lock and writes no
// video.
func TestGenerateOnAHeldStoreFails(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	ctx := bustest.Ctx(t, time.Minute)
	start(t, true, "server", "--port", "-1", "--data", data)
	out := filepath.Join(dir, "x.mp4")
	_, stderr, code := run(t, ctx, "generate", "a red circle moving right", "--data", data, "-o", out)
	if code != 1 || !strings.Contains(stderr, "a 'reel server' uses it") {
		t.Fatalf("generate on a held store: exit %d, stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("generate on a held store wrote %s (%v)", out, err)
	}
}

// messages counts the messages on stream REEL whose subjects match filter.
func messages(t *testing.T, ctx context.Context, b *bus.Bus, filter string) uint64 {
	t.Helper()
	info, err := b.Stream.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n
}

// jobRecord reads a job's record through `reel status --json`.
func jobRecord(t *testing.T, ctx context.Context, url, id string) map[string]any {
	t.Helper()
	out, stderr, code := run(t, ctx, "status", id, "--json", "--nats", url)
	if code != 0 {
		t.Fatalf("status %s: %s", id, stderr)
	}
	var j map[string]any
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatal(err)
	}
	return j
}

func framesHash(j map[string]any) string {
	v, _ := j["video"].(map[string]any)
	s, _ := v["frames_sha256"].(string)
	return s
}

// kill -9 of each stage's process while it holds a job: after a replacement
// starts, the job completes with frames identical to a fault-free run and
// exactly one message per chunk.
func TestKill9EachStage(t *testing.T) {
	dir := t.TempDir()
	_, url := start(t, true, "server", "--port", "-1", "--data", filepath.Join(dir, "data"), "--ack-wait", "2s", "--log-format", "json")
	ctx := bustest.Ctx(t, 5*time.Minute)
	stageArgs := func(s string, extra ...string) []string {
		return append([]string{"stage", s, "--nats", url, "--log-format", "json", "--work-dir", dir}, extra...)
	}
	procs := map[string]*proc{}
	for _, s := range []string{"textenc", "denoise", "vaedecode", "encode"} {
		procs[s], _ = start(t, false, stageArgs(s)...)
	}
	submit := func() string {
		out, stderr, code := run(t, ctx, "submit", "a windmill in a storm", "--frames", "32", "--steps", "3", "--seed", "11", "--nats", url)
		if code != 0 {
			t.Fatalf("submit: %s", stderr)
		}
		return lastLine(out)
	}
	watch := func(id string) {
		if _, stderr, code := run(t, ctx, "watch", id, "--nats", url); code != 0 {
			t.Fatalf("watch %s: exit %d\n%s", id, code, stderr)
		}
	}
	base := submit()
	watch(base)
	want := framesHash(jobRecord(t, ctx, url, base))
	if want == "" {
		t.Fatal("no frames hash in the fault-free job")
	}

	b, err := bus.Open(ctx, bus.ConnectConfig{URL: url}, bus.LayoutConfig{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, s := range []string{"textenc", "denoise", "vaedecode", "encode"} {
		procs[s].stop(t)
		faulty, _ := start(t, false, stageArgs(s, "--fault", "hang")...)
		id := submit()
		if err := faulty.stderr.waitFor(ctx, "fault: holding message"); err != nil {
			t.Fatalf("%s: %v\n%s", s, err, faulty.stderr)
		}
		if err := faulty.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = faulty.wait(ctx)
		procs[s], _ = start(t, false, stageArgs(s)...)
		watch(id)
		if got := framesHash(jobRecord(t, ctx, url, id)); got != want {
			t.Fatalf("after kill -9 of %s: frames %s, fault-free %s", s, got, want)
		}
		if l, f, v := messages(t, ctx, b, "reel.latent."+id+".*"), messages(t, ctx, b, "reel.frames."+id+".*"), messages(t, ctx, b, "reel.video."+id); l != 2 || f != 2 || v != 1 {
			t.Fatalf("after kill -9 of %s: %d latent, %d frames, %d video messages; want 2, 2, 1", s, l, f, v)
		}
	}
}

// The NATS server (file storage) killed and restarted mid-job: the stage
// processes reconnect and the job completes.
func TestServerRestartMidJob(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	srv, url := start(t, true, "server", "--port", "-1", "--data", data, "--ack-wait", "3s", "--log-format", "json")
	port := url[strings.LastIndex(url, ":")+1:]
	for _, s := range []string{"textenc", "denoise", "vaedecode", "encode"} {
		start(t, false, "stage", s, "--nats", url, "--log-format", "json", "--work-dir", dir)
	}
	ctx := bustest.Ctx(t, 5*time.Minute)
	out, stderr, code := run(t, ctx, "submit", "a train in the snow", "--frames", "48", "--steps", "60", "--nats", url)
	if code != 0 {
		t.Fatalf("submit: %s", stderr)
	}
	id := lastLine(out)
	w, _ := start(t, false, "watch", id, "--nats", url)
	if err := w.stdout.waitFor(ctx, "denoise step 3/60"); err != nil {
		t.Fatalf("%v\n%s", err, w.stdout)
	}
	_ = srv.cmd.Process.Kill()
	_ = srv.wait(ctx)
	start(t, true, "server", "--port", port, "--data", data, "--ack-wait", "3s", "--log-format", "json")
	if _, stderr, code := run(t, ctx, "watch", id, "--nats", url); code != 0 {
		t.Fatalf("watch after restart: exit %d\n%s", code, stderr)
	}
	// The watch started before the restart followed the job through it.
	if err := w.wait(ctx); err != nil {
		t.Fatalf("watch across the restart: %v\n%s%s", err, w.stdout, w.stderr)
	}
	out2, _, _ := run(t, ctx, "get", id, "-o", filepath.Join(dir, "r.mp4"), "--nats", url)
	if p := bustest.FFprobe(t, strings.TrimSpace(out2)); p.Frames != "48" {
		t.Fatalf("ffprobe after restart: %+v", p)
	}
}

// A stage whose memory budget cannot hold the request fails the job with
// "needs X, the largest budget is Y" instead of being killed trying; workers
// report device and budget.
func TestMemoryBudgetTooSmall(t *testing.T) {
	dir := t.TempDir()
	_, url := start(t, true, "server", "--port", "-1", "--data", filepath.Join(dir, "data"), "--log-format", "json")
	start(t, false, "stage", "textenc", "--nats", url, "--mem-budget", "1MiB", "--log-format", "json")
	ctx := bustest.Ctx(t, 2*time.Minute)
	out, stderr, code := run(t, ctx, "submit", "a red circle moving right", "--frames", "16", "--steps", "2", "--nats", url)
	if code != 0 {
		t.Fatalf("submit: %s", stderr)
	}
	id := lastLine(out)
	if _, _, code := run(t, ctx, "watch", id, "--nats", url); code != 1 {
		t.Fatalf("watch: exit %d, want 1", code)
	}
	status, _, _ := run(t, ctx, "status", id, "--nats", url)
	if !strings.Contains(status, "the largest budget is 1.0 MiB") && !strings.Contains(status, "the largest budget is 1 MiB") {
		t.Fatalf("status:\n%s", status)
	}
	workers, _, _ := run(t, ctx, "workers", "--json", "--nats", url)
	if !strings.Contains(workers, `"mem_budget_bytes":1048576`) || !strings.Contains(workers, `"device":`) {
		t.Fatalf("workers: %s", workers)
	}
}
