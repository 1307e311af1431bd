package gpu

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ProbeTimeout bounds a probe child: NVML initialises in well under a second
// on a healthy machine, and a wedged driver must not stall a stage's start.
const ProbeTimeout = 15 * time.Second

// probeWaitDelay is how long Wait may still take once the child is killed or
// has exited, should something it started keep its pipes open.
const probeWaitDelay = 2 * time.Second

// stderrKeep bounds the child's stderr held for the error message, and
// stdoutKeep its result line (a few KiB per device).
const (
	stderrKeep = 16 << 10
	stdoutKeep = 4 << 20
)

// Child runs NVML discovery in a short-lived child process (in reel, the same
// binary's hidden `gpu-probe` command), so a segfault inside libnvidia-ml, or
// a driver call that never returns, costs the child and not the stage.
type Child struct {
	Path string
	Args []string
	// Env is the child's environment; nil inherits this process's, which
	// also passes CUDA_VISIBLE_DEVICES on.
	Env []string
	// Timeout is 0 for ProbeTimeout.
	Timeout time.Duration
}

// Probe runs the child and reads its result. Every failure wraps
// ErrDiscovery and names the exit status and the last lines of stderr,
// except the caller's own cancellation, which returns ctx's error.
func (c Child) Probe(ctx context.Context) (ProbeResult, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = ProbeTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, c.Path, c.Args...)
	cmd.Env = c.Env
	cmd.WaitDelay = probeWaitDelay
	// Both streams are bounded: a broken child may print without end.
	stdout, stderr := &tail{max: stdoutKeep}, &tail{max: stderrKeep}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	name := strings.Join(append([]string{filepath.Base(c.Path)}, c.Args...), " ")
	err := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return ProbeResult{}, ctx.Err()
	case err != nil && errors.Is(cctx.Err(), context.DeadlineExceeded):
		return ProbeResult{}, fmt.Errorf("%w: %s did not finish within %s, killed%s", ErrDiscovery, name, timeout, stderr.summary())
	case err != nil:
		return ProbeResult{}, fmt.Errorf("%w: %s: %w%s", ErrDiscovery, name, err, stderr.summary())
	}
	res, err := parseProbe(stdout.buf)
	if err != nil {
		return ProbeResult{}, fmt.Errorf("%w: %s: %w%s", ErrDiscovery, name, err, stderr.summary())
	}
	return res, nil
}

// tail keeps the start and the last max bytes of what is written to it: a
// crashing Go child names the signal in its first line ("SIGSEGV:
// segmentation violation") and a C library its complaint in the last.
type tail struct {
	max  int
	head []byte
	buf  []byte
	cut  bool // buf lost bytes that head does not hold
}

const headKeep = 512

func (t *tail) Write(p []byte) (int, error) {
	if n := min(headKeep-len(t.head), len(p)); n > 0 {
		t.head = append(t.head, p[:n]...)
	}
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf, t.cut = t.buf[over:], true
	}
	return len(p), nil
}

// summary is "; stderr: " and the lines that say what happened, or "" when
// the child wrote nothing. A crashed Go child (a fault in libnvidia-ml ends
// in the Go runtime's handler) prints a header such as "SIGSEGV:
// segmentation violation" and then goroutine traces and registers: the
// header and the two lines before it are kept, the trace dropped. Otherwise
// the last three lines are kept.
func (t *tail) summary() string {
	lines := nonEmptyLines(string(t.buf))
	if t.cut {
		lines = append(nonEmptyLines(string(t.head)), lines...)
	}
	if k := slices.IndexFunc(lines, crashHeader); k >= 0 {
		lines = lines[max(0, k-2) : k+1]
	} else {
		lines = lines[max(0, len(lines)-3):]
	}
	if len(lines) == 0 {
		return ""
	}
	return "; stderr: " + clip(strings.Join(lines, " | "), 400)
}

// crashHeader reports whether l opens a Go runtime crash report.
func crashHeader(l string) bool {
	for _, p := range []string{"SIG", "fatal error:", "panic:", "unexpected fault address"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

func nonEmptyLines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
