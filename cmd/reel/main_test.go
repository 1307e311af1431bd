package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/orchestrator"
	"github.com/rs/zerolog"
)

// The binary under test, built once by TestMain with `go build`.
var reelBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "reel-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	reelBin = filepath.Join(dir, "reel")
	out, err := exec.Command("go", "build", "-o", reelBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs reel to completion.
func run(t *testing.T, ctx context.Context, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.CommandContext(ctx, reelBin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.Env = append(os.Environ(), "REEL_NATS=")
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("reel %v: %v", args, err)
	}
	return o.String(), e.String(), 0
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

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

// proc is a long-running reel child process.
type proc struct {
	cmd     *exec.Cmd
	stdout  *lockedBuffer
	stderr  *lockedBuffer
	exited  chan struct{} // closed when the process has exited
	waitErr error
}

// wait returns the exit error once the process has exited.
func (p *proc) wait(ctx context.Context) error {
	select {
	case <-p.exited:
		return p.waitErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

type lockedBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return l.b.Write(p)
}

// waitFor blocks until the output contains s.
func (l *lockedBuffer) waitFor(ctx context.Context, s string) error {
	for {
		l.mu.Lock()
		if strings.Contains(l.b.String(), s) {
			l.mu.Unlock()
			return nil
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %q: %w", s, ctx.Err())
		}
	}
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start starts reel in the background; the process gets SIGTERM (and must
// exit cleanly) when the test ends. If firstLine is set, start returns the
// first stdout line.
func start(t *testing.T, firstLine bool, args ...string) (*proc, string) {
	t.Helper()
	cmd := exec.Command(reelBin, args...)
	cmd.Env = append(os.Environ(), "REEL_NATS=")
	p := &proc{cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			_, _ = p.stdout.Write([]byte(sc.Text() + "\n"))
			if first {
				lines <- sc.Text()
				first = false
			}
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop(t) })
	if !firstLine {
		return p, ""
	}
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatalf("reel %v exited early:\n%s", args, p.stderr)
		}
		return p, l
	case <-p.exited:
		t.Fatalf("reel %v exited early: %v\n%s", args, p.waitErr, p.stderr)
	case <-time.After(time.Minute):
		t.Fatalf("reel %v printed nothing:\n%s", args, p.stderr)
	}
	return p, ""
}

func (p *proc) stop(t *testing.T) {
	select {
	case <-p.exited: // already exited (and checked by the test)
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.wait(ctx); err != nil {
		if ctx.Err() != nil {
			_ = p.cmd.Process.Kill()
			<-p.exited
			t.Errorf("%v: did not stop within 30s of SIGTERM\n%s", p.cmd.Args[1:], p.stderr)
			return
		}
		t.Errorf("%v: exit after SIGTERM: %v\n%s", p.cmd.Args[1:], err, p.stderr)
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
	count := func(filter string) uint64 {
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
		if l, f, v := count("reel.latent."+id+".*"), count("reel.frames."+id+".*"), count("reel.video."+id); l != 2 || f != 2 || v != 1 {
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
	n := 200
	if testing.Short() {
		n = 40
	}
	if s := os.Getenv("REEL_LOAD_JOBS"); s != "" {
		fmt.Sscanf(s, "%d", &n)
	}
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
	set := bus.DefaultSettings()
	set.Frames, set.Steps = 16, 4
	runJobs := func(k int) []string {
		ids := make([]string, k)
		for i := range ids {
			id, err := store.Submit(ctx, bus.Request{Prompt: fmt.Sprintf("load job %d", i)}, set, orchestrator.SubmitOptions{})
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
			if j.State != bus.StateSucceeded {
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
	count := func(filter string) uint64 {
		info, err := b.Stream.Info(ctx, jetstream.WithSubjectFilter(filter))
		if err != nil {
			t.Fatal(err)
		}
		var c uint64
		for _, v := range info.State.Subjects {
			c += v
		}
		return c
	}
	if v, f := count("reel.video.*"), count("reel.frames.*.*"); v != uint64(n+1) || f != uint64(n+1) {
		t.Fatalf("%d videos and %d frame chunks for %d jobs", v, f, n+1)
	}
	t.Logf("%d jobs in %s", n, took.Round(time.Millisecond))
	for _, s := range names {
		deep := vmHWM(t, pids[s])
		t.Logf("%-9s peak RSS: one job %4d MiB, %d queued %4d MiB", s, empty[s]>>10, n, deep>>10)
		if deep > empty[s]*3/2+32<<10 {
			t.Errorf("%s: peak RSS %d MiB with a deep queue vs %d MiB for one job", s, deep>>10, empty[s]>>10)
		}
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
