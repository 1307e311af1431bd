package runner_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/reel-video/reel/runner"
)

// TestStartFailures: runners that crash at start, hang before hello or
// print garbage give a plain error, naming what happened, within the
// hello timeout.
func TestStartFailures(t *testing.T) {
	const helloTimeout = 2 * time.Second
	for _, tc := range []struct {
		name   string
		script string
		is     error
		says   []string
	}{
		{"crash", "#!/bin/sh\necho 'ImportError: no module named torch' >&2\nexit 3\n", runner.ErrStart,
			[]string{"exit status 3", "no module named torch"}},
		{"hang", "#!/bin/sh\necho 'loading weights' >&2\nexec sleep 60\n", runner.ErrStart,
			[]string{"no hello answer within 2s", "loading weights", "killed"}},
		{"garbage", "#!/bin/sh\necho 'Hello from a chatty library'\nexec sleep 60\n", runner.ErrProtocol,
			[]string{"not plausible", `"Hello from a chatty library\n"`}},
		{"short garbage", "#!/bin/sh\nprintf 'ok'\n", runner.ErrProtocol,
			[]string{"stdout ended inside a frame length", `"ok"`, "exit status 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := writeScript(t, "runner.sh", tc.script)
			t0 := time.Now()
			e, err := runner.Start(context.Background(), runner.Config{Command: []string{cmd},
				HelloTimeout: helloTimeout, Log: testLog(t)})
			took := time.Since(t0)
			if err == nil {
				e.Close()
				t.Fatal("Start succeeded")
			}
			t.Logf("after %v: %v", took.Round(time.Millisecond), err)
			if !errors.Is(err, tc.is) {
				t.Errorf("error does not match %v", tc.is)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not say %q", s)
				}
			}
			if took > helloTimeout+3*time.Second {
				t.Errorf("took %v, hello timeout is %v", took, helloTimeout)
			}
		})
	}
}

// hungRunner answers hello, then logs one line for the next request and
// stops reading and answering (a deadlocked runner).
const hungRunner = `import struct, sys, time, msgpack
inp, out = sys.stdin.buffer, sys.stdout.buffer
def read():
    n = struct.unpack(">I", inp.read(4))[0]
    return msgpack.unpackb(inp.read(n))
def send(m):
    b = msgpack.packb(m, use_bin_type=True)
    out.write(struct.pack(">I", len(b)) + b); out.flush()
req = read()
send({"id": req["id"], "ok": True, "protocol": 1, "manifest": {"model": "fake", "text_length": 4, "text_dim": 2}})
req = read()
print("INFO stuck on", req["op"], file=sys.stderr, flush=True)
time.sleep(600)
`

// syncBuffer is a log sink safe for the stderr goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestHungRunner: a runner that stops answering is killed by the health
// watchdog; the call in flight fails as transient, and the runner's stderr
// lines were logged with the call's job id.
func TestHungRunner(t *testing.T) {
	needPython(t, "msgpack")
	script := writeScript(t, "hung.py", hungRunner)
	var logs syncBuffer
	e, err := runner.Start(context.Background(), runner.Config{Command: []string{python, script},
		PingInterval: 100 * time.Millisecond, PingTimeout: time.Second, Log: zerolog.New(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	t0 := time.Now()
	_, _, err = e.EncodeText(runner.WithJob(ctxTimeout(t, time.Minute), "job-42"), "x")
	took := time.Since(t0)
	t.Logf("after %v: %v", took.Round(time.Millisecond), err)
	if !errors.Is(err, runner.ErrTransient) || !strings.Contains(err.Error(), "hung") {
		t.Errorf("error %v, want ErrTransient saying hung", err)
	}
	if took > 5*time.Second {
		t.Errorf("took %v with a 1 s ping timeout", took)
	}
	if l := logs.String(); !strings.Contains(l, `"job":"job-42"`) || !strings.Contains(l, "stuck on encode_text") {
		t.Errorf("runner stderr not logged with the job id:\n%s", l)
	}
}

// TestTorchCancel: cancelling a sample returns at once, and the runner
// really stops (the next call is served long before the sample would end).
func TestTorchCancel(t *testing.T) {
	e := startTorch(t, nil)
	hidden, mask, err := e.EncodeText(ctxTimeout(t, time.Minute), "a red circle moving right")
	if err != nil {
		t.Fatal(err)
	}
	text := runner.Text{Hidden: hidden, Mask: mask}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelled time.Time
	const steps = 200 // about 2 s a step here: minutes if it kept running
	_, err = e.Sample(ctx, text, text, runner.Params{Frames: 48, Steps: steps, Guidance: 5, Shift: 3, Seed: 1},
		func(step, total int) {
			if step == 1 {
				cancelled = time.Now()
				cancel()
			}
		})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Sample after cancel: %v", err)
	}
	if took := time.Since(cancelled); took > time.Second {
		t.Errorf("Sample returned %v after cancel", took)
	}
	t0 := time.Now()
	if _, _, err := e.EncodeText(ctxTimeout(t, time.Minute), "next"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took > 20*time.Second {
		t.Errorf("next call served after %v: the cancelled sample kept running", took)
	}
}

// TestTorchKilledMidCall: kill -9 of the runner during a sample fails that
// call as transient; the engine restarts the runner and the next call works.
func TestTorchKilledMidCall(t *testing.T) {
	e := startTorch(t, nil)
	ctx := ctxTimeout(t, 5*time.Minute)
	hidden, mask, err := e.EncodeText(ctx, "a blue square moving up")
	if err != nil {
		t.Fatal(err)
	}
	text := runner.Text{Hidden: hidden, Mask: mask}
	pid := e.PID()
	_, err = e.Sample(ctx, text, text, runner.Params{Frames: 16, Steps: 50, Guidance: 5, Shift: 3, Seed: 1},
		func(step, total int) {
			if step == 2 {
				if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
					t.Error(err)
				}
			}
		})
	t.Logf("sample: %v", err)
	if !errors.Is(err, runner.ErrTransient) || !strings.Contains(err.Error(), "signal: killed") {
		t.Fatalf("sample during kill -9: %v, want ErrTransient naming the signal", err)
	}
	again, _, err := e.EncodeText(ctx, "a blue square moving up")
	if err != nil {
		t.Fatalf("call after restart: %v", err)
	}
	if relErr(t, again, hidden) != 0 {
		t.Error("restarted runner encodes differently")
	}
	if p := e.PID(); p == pid || p == 0 {
		t.Errorf("runner pid %d after restart, was %d", p, pid)
	}
}

// kindRunner answers encode_text with an error of the kind named by the
// prompt.
const kindRunner = `import struct, sys, msgpack
inp, out = sys.stdin.buffer, sys.stdout.buffer
def send(m):
    b = msgpack.packb(m, use_bin_type=True)
    out.write(struct.pack(">I", len(b)) + b); out.flush()
while True:
    h = inp.read(4)
    if not h:
        break
    req = msgpack.unpackb(inp.read(struct.unpack(">I", h)[0]))
    if req["op"] == "hello":
        send({"id": req["id"], "ok": True, "protocol": 1, "manifest": {"model": "fake", "text_length": 4, "text_dim": 2}})
    elif req["op"] == "encode_text":
        send({"id": req["id"], "ok": False, "error": {"kind": req["prompt"], "message": "as asked"}})
    else:
        send({"id": req["id"], "ok": True, "memory": {"rss_bytes": 1}})
`

// TestErrorKinds: the runner's error kinds reach the caller as the
// package's sentinels, and an error answer does not restart the runner.
func TestErrorKinds(t *testing.T) {
	needPython(t, "msgpack")
	script := writeScript(t, "kinds.py", kindRunner)
	e, err := runner.Start(context.Background(), runner.Config{Command: []string{python, script}, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	pid := e.PID()
	for _, tc := range []struct {
		kind      string
		is, isNot error
	}{
		{"bad_input", runner.ErrBadInput, runner.ErrTransient},
		{"oom", runner.ErrOOM, runner.ErrTransient},
		{"transient", runner.ErrTransient, runner.ErrBadInput},
		{"something new", runner.ErrTransient, runner.ErrOOM},
	} {
		_, _, err := e.EncodeText(ctxTimeout(t, 30*time.Second), tc.kind)
		var re *runner.Error
		if !errors.Is(err, tc.is) || errors.Is(err, tc.isNot) || !errors.As(err, &re) || re.Kind != tc.kind {
			t.Errorf("kind %q: %v; want it to match %v and not %v", tc.kind, err, tc.is, tc.isNot)
		}
	}
	if mem, err := e.Health(ctxTimeout(t, 30*time.Second)); err != nil || mem.RSSBytes != 1 || e.PID() != pid {
		t.Errorf("after error answers: health %+v, %v; pid %d, was %d", mem, err, e.PID(), pid)
	}
}
