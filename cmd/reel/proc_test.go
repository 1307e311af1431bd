package main

import (
	"bufio"
	"bytes"
	"context"
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
	cmd := exec.CommandContext(ctx, reelBin, bareServer(args)...)
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

// bareServer makes `reel server` in a test a bare bus without the HTTP API
// unless the test asks for them: the tests start their stages themselves,
// and parallel tests cannot share the API's default port.
func bareServer(args []string) []string {
	if len(args) == 0 || args[0] != "server" {
		return args
	}
	has := func(flag string) bool {
		for _, a := range args {
			if a == flag || strings.HasPrefix(a, flag+"=") {
				return true
			}
		}
		return false
	}
	out := append([]string(nil), args...)
	if !has("--replicas") {
		out = append(out, "--replicas", "none")
	}
	if !has("--api") {
		out = append(out, "--api", "none")
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
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
	cmd := exec.Command(reelBin, bareServer(args)...)
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
