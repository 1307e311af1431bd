package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/tooltest"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/model/videotest"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages/worker"
)

const torchPython = tooltest.Python

func needTorch(t *testing.T) {
	t.Helper()
	tooltest.NeedPython(t, "torch, numpy, msgpack")
}

func needFFmpeg(t *testing.T) {
	t.Helper()
	tooltest.Look(t, "ffmpeg", "ffmpeg")
}

// decodeRGB decodes a video file to raw RGB24 frames with ffmpeg.
func decodeRGB(t *testing.T, path string) []byte {
	t.Helper()
	var out, stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", path, err, stderr.String())
	}
	return out.Bytes()
}

// psnr of two RGB24 buffers (8-bit peak).
func psnr(t *testing.T, a, b []byte) float64 {
	t.Helper()
	p, err := videotest.PSNR(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// `reel generate P --seed S --engine torch` (on the CPU) makes the video
// `--engine go` makes: the decoded frames agree to ≥ 40 dB PSNR. The
// pure-Go encoder's output (--ffmpeg none) decodes losslessly, so the
// comparison sees the engines, not a codec.
func TestGenerateTorchMatchesGo(t *testing.T) {
	needTorch(t)
	needFFmpeg(t)
	dir := t.TempDir()
	ctx := bustest.Ctx(t, 10*time.Minute)
	videos := map[string][]byte{}
	for _, engine := range []string{"go", "torch"} {
		out := filepath.Join(dir, engine+".mp4")
		stdout, stderr, code := run(t, ctx, "generate", "a blue square moving up on a white background", "--seed", "11",
			"--frames", "48", "--steps", "8", "--engine", engine, "--python", torchPython, "--device", "cpu",
			"--ffmpeg", "none", "-o", out, "--data", filepath.Join(dir, "data-"+engine))
		if code != 0 || lastLine(stdout) != out {
			t.Fatalf("generate --engine %s: exit %d, stdout %q\n%s", engine, code, stdout, stderr)
		}
		videos[engine] = decodeRGB(t, out)
	}
	if n := len(videos["go"]); n != 48*64*64*3 {
		t.Fatalf("go video decodes to %d bytes, want 48 frames of 64x64 RGB", n)
	}
	p := psnr(t, videos["torch"], videos["go"])
	t.Logf("torch vs go video: PSNR %.1f dB", p)
	if p < 40 {
		t.Errorf("torch vs go video: PSNR %.1f dB, want ≥ 40", p)
	}
}

// deployment is a bare `reel server` (no stages, no API) and a client of it.
type deployment struct {
	url   string
	dir   string
	b     *bus.Bus
	store *orchestrator.Store
}

func deploy(t *testing.T, ctx context.Context, serverArgs ...string) *deployment {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"server", "--port", "-1", "--data", filepath.Join(dir, "data"), "--replicas", "none", "--api", apiOff, "--log-format", "json"}, serverArgs...)
	_, url := start(t, true, args...)
	b, err := bus.Open(ctx, bus.ConnectConfig{URL: url, Name: t.Name()}, bus.LayoutConfig{}, bustest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return &deployment{url: url, dir: dir, b: b, store: orchestrator.NewStore(b, bustest.Logger(t))}
}

// stage starts `reel stage NAME` against the deployment.
func (d *deployment) stage(t *testing.T, name string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"stage", name, "--nats", d.url, "--log-format", "json", "--work-dir", d.dir, "--ffmpeg", "none"}, extra...)
	p, _ := start(t, false, args...)
	return p
}

func (d *deployment) submit(t *testing.T, ctx context.Context, prompt string, set protocol.Settings) string {
	t.Helper()
	id, err := d.store.Submit(ctx, protocol.Request{Prompt: prompt}, set, orchestrator.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (d *deployment) wait(t *testing.T, ctx context.Context, id string) *orchestrator.Job {
	t.Helper()
	j, err := d.store.Wait(ctx, id)
	if err != nil {
		t.Fatalf("wait %s: %v", id, err)
	}
	return j
}

// runnerPID waits for a heartbeat of the stage whose runner runs with a
// pid other than not, and returns it.
func (d *deployment) runnerPID(t *testing.T, ctx context.Context, stage string, not int) int {
	t.Helper()
	for {
		ws, err := worker.ListWorkers(ctx, d.b)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range ws {
			if w.Stage == stage && w.Runner != nil && w.Runner.PID != 0 && w.Runner.PID != not {
				return w.Runner.PID
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no heartbeat of %s with a runner other than pid %d: %+v", stage, not, ws)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// subjectCounts is how many messages each subject matching filter holds.
func (d *deployment) subjectCounts(t *testing.T, ctx context.Context, filter string) map[string]uint64 {
	t.Helper()
	info, err := d.b.Stream.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects
}

// waitSubject blocks until subject holds a message.
// waitSubject waits for a message on subject of job id; a job that ends
// first fails the test at once, with its reason.
func (d *deployment) waitSubject(t *testing.T, ctx context.Context, id, subject string) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ended := make(chan *orchestrator.Job, 1)
	go func() {
		if j, err := d.store.Wait(ctx, id); err == nil {
			ended <- j
		}
	}()
	c, err := d.b.JS.OrderedConsumer(ctx, protocol.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		_, err := c.Next(jetstream.FetchContext(ctx))
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("waiting for %s: %v", subject, err)
		}
	case j := <-ended:
		if _, err := d.b.LastMsg(ctx, subject); err != nil {
			t.Fatalf("job %s ended %s (%s) before %s was published", id, j.State, j.Error, subject)
		}
	}
}

// message is the resolved body of a subject's message.
func (d *deployment) message(t *testing.T, ctx context.Context, subject string, body any) {
	t.Helper()
	m, err := d.b.LastMsg(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	env, err := d.b.Decode(ctx, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.DecodeBody(body); err != nil {
		t.Fatal(err)
	}
}

// A split deployment (a bare server and one `reel stage` process per stage)
// where vaedecode runs the torch runner: every chunk's frames match the Go
// engine's decode of the same latent (≥ 40 dB), and kill -9 of the runner
// mid-job loses nothing: the job completes, each frames subject holds
// exactly one message, the video has every frame, and a new runner serves
// on.
func TestSplitTorchVAEDecodeSurvivesRunnerKill(t *testing.T) {
	needTorch(t)
	ctx := bustest.Ctx(t, 5*time.Minute)
	d := deploy(t, ctx)
	for _, s := range []string{protocol.StageTextEnc, protocol.StageDenoise, protocol.StageEncode} {
		d.stage(t, s)
	}
	vae := d.stage(t, protocol.StageVAEDecode, "--engine", "torch", "--python", torchPython, "--device", "cpu")
	pid := d.runnerPID(t, ctx, protocol.StageVAEDecode, 0)
	// `reel workers` shows the runner: its pid, device and memory.
	out, stderr, code := run(t, ctx, "workers", "--nats", d.url)
	if want := fmt.Sprintf("torch pid %d cpu RSS ", pid); code != 0 || !strings.Contains(out, want) {
		t.Errorf("reel workers (exit %d) does not show %q:\n%s%s", code, want, out, stderr)
	}
	ws, err := worker.ListWorkers(ctx, d.b)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if w.Stage == protocol.StageVAEDecode && (w.Engine != "torch" || w.Runner.RSSBytes < 50<<20) {
			t.Errorf("heartbeat: engine %q, runner %+v: want torch with a loaded model's RSS", w.Engine, w.Runner)
		}
	}

	set := protocol.DefaultSettings()
	set.Frames, set.Steps, set.Seed = 128, 2, 5
	chunks := set.Chunks()
	id := d.submit(t, ctx, "a red circle moving right", set)
	// Once chunk 0's frames are out, the other chunks are queued for the
	// one vaedecode slot: the runner is busy with the next one.
	d.waitSubject(t, ctx, id, protocol.FramesSubject(id, 0))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 runner %d: %v", pid, err)
	}
	if n := len(d.subjectCounts(t, ctx, protocol.FramesFilter(id))); n == chunks {
		t.Fatalf("all %d chunks were decoded before the kill: not mid-job", n)
	}
	j := d.wait(t, ctx, id)
	if j.State != protocol.StateSucceeded || j.Video.Frames != set.Frames {
		t.Fatalf("job after kill -9 of the runner: %s, %d frames, %q\n%s", j.State, j.Video.Frames, j.Error, vae.stderr)
	}
	counts := d.subjectCounts(t, ctx, protocol.FramesFilter(id))
	if len(counts) != chunks {
		t.Errorf("%d frames subjects, want %d: %v", len(counts), chunks, counts)
	}
	for subj, n := range counts {
		if n != 1 {
			t.Errorf("%s holds %d messages, want 1", subj, n)
		}
	}
	if err := vae.stderr.waitFor(ctx, "signal: killed"); err != nil {
		t.Errorf("the stage did not log the runner's death: %v", err)
	}
	if strings.Contains(vae.stderr.String(), "decode_chunk: runner: transient failure") {
		t.Log("the kill interrupted a decode_chunk call; it was retried")
	}
	if next := d.runnerPID(t, ctx, protocol.StageVAEDecode, pid); next == pid {
		t.Errorf("runner pid %d after its kill", next)
	}

	// The frames are the Go engine's decode of the same latents.
	g, err := model.Load(model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range chunks {
		var lat protocol.LatentBody
		var fr protocol.FramesBody
		d.message(t, ctx, protocol.LatentSubject(id, i), &lat)
		d.message(t, ctx, protocol.FramesSubject(id, i), &fr)
		l, err := lat.Latent.Float32s(8, 4, 8, 8)
		if err != nil {
			t.Fatal(err)
		}
		want, err := g.DecodeChunk(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fr.Frames.Bytes(16, 64, 64, 3)
		if err != nil {
			t.Fatal(err)
		}
		if p := psnr(t, got, model.ToRGB24(want)); p < 40 {
			t.Errorf("chunk %d: torch frames vs Go decode PSNR %.1f dB, want ≥ 40", i, p)
		}
	}
}

// A runner that crashes at start, hangs before its hello or prints garbage
// makes `reel stage` exit non-zero within the start timeout, saying what
// the runner did.
func TestStageRunnerStartFailures(t *testing.T) {
	ctx := bustest.Ctx(t, 3*time.Minute)
	d := deploy(t, ctx)
	for _, tc := range []struct {
		name, script string
		says         []string
	}{
		{"crash", "#!/bin/sh\necho 'ImportError: no module named torch' >&2\nexit 3\n",
			[]string{"runner: start failed", "exit status 3", "no module named torch"}},
		{"hang", "#!/bin/sh\necho 'loading weights' >&2\nexec sleep 60\n",
			[]string{"runner: start failed", "no hello answer within 2s", "loading weights"}},
		{"garbage", "#!/bin/sh\necho 'Hello from a chatty library'\nexec sleep 60\n",
			[]string{"protocol violation", "Hello from a chatty library"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			script := filepath.Join(t.TempDir(), "runner.sh")
			if err := os.WriteFile(script, []byte(tc.script), 0o755); err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			_, stderr, code := run(t, ctx, "stage", protocol.StageVAEDecode, "--nats", d.url, "--log-format", "json",
				"--engine", "exec:"+script, "--runner-start-timeout", "2s")
			took := time.Since(t0)
			msg := lastLine(stderr)
			t.Logf("exit %d after %v: %s", code, took.Round(time.Millisecond), msg)
			if code == 0 {
				t.Fatal("reel stage exited 0")
			}
			if !strings.HasPrefix(msg, "reel: stage vaedecode: engine exec:"+script+": ") {
				t.Errorf("last line does not name the stage and engine: %s", msg)
			}
			for _, s := range tc.says {
				if !strings.Contains(msg, s) {
					t.Errorf("does not say %q", s)
				}
			}
			if took > 30*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
}

// A runner that misbehaves mid-job (fakerunner.py on decode_chunk): the job
// ends failed with the runner's reason, never hangs, and the stage serves
// on. Garbage on the protocol fails it at once; a crash or a hang (killed
// by the health ping) is retried, then fails after --max-deliver.
func TestStageRunnerMidJobFaults(t *testing.T) {
	tooltest.NeedPython(t, "msgpack")
	fake, err := filepath.Abs("../../runner/testdata/fakerunner.py")
	if err != nil {
		t.Fatal(err)
	}
	ctx := bustest.Ctx(t, 5*time.Minute)
	d := deploy(t, ctx, "--max-deliver", "2")
	for _, s := range []string{protocol.StageTextEnc, protocol.StageDenoise, protocol.StageEncode} {
		d.stage(t, s)
	}
	set := protocol.DefaultSettings()
	set.Frames, set.Steps = 16, 1
	for _, tc := range []struct {
		mode    string
		retried bool
		says    []string
	}{
		{"garbage", false, []string{"protocol violation", "Traceback (most recent call last): oops"}},
		{"crash", true, []string{"gave up after 2 deliveries", "exit status 3", "fake runner crashing on decode_chunk"}},
		{"hang", true, []string{"gave up after 2 deliveries", "did not answer health within 1s (hung)"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			vae := d.stage(t, protocol.StageVAEDecode, "--engine", fmt.Sprintf("exec:%s %s --fail decode_chunk=%s", torchPython, fake, tc.mode),
				"--runner-ping-timeout", "1s")
			defer vae.stop(t)
			id := d.submit(t, ctx, "a "+tc.mode+" runner", set)
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			j, err := d.store.Wait(wctx, id)
			if err != nil {
				t.Fatalf("job %s: %v\n%s", id, err, vae.stderr)
			}
			t.Logf("%s: %s", j.State, j.Error)
			if j.State != protocol.StateFailed || j.FailedStage != protocol.StageVAEDecode {
				t.Fatalf("job %s in %q, want failed in vaedecode", j.State, j.FailedStage)
			}
			for _, s := range tc.says {
				if !strings.Contains(j.Error, s) {
					t.Errorf("error does not say %q", s)
				}
			}
			// The runner's stderr is in the stage's log with the job id.
			tagged := false
			for _, line := range strings.Split(vae.stderr.String(), "\n") {
				tagged = tagged || strings.Contains(line, "fake runner: decode_chunk for job "+id) && strings.Contains(line, `"job":"`+id+`"`)
			}
			if !tagged {
				t.Errorf("no runner log line tagged with job %s", id)
			}
			if got := strings.Contains(vae.stderr.String(), "will retry"); got != tc.retried {
				t.Errorf("redelivered: %v, want %v", got, tc.retried)
			}
			select {
			case <-vae.exited:
				t.Fatalf("the stage exited: %v\n%s", vae.waitErr, vae.stderr)
			default:
			}
		})
	}
}
