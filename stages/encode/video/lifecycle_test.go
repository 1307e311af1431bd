package video

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reel-video/reel/internal/envconfig"
)

// processGone reports whether pid no longer exists (not even as a zombie:
// the writer must reap what it started).
func processGone(pid int) bool {
	err := syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}

// startedWriter returns a writer on the ffmpeg path with one chunk written
// and the pid of its ffmpeg.
func startedWriter(t *testing.T, ctx context.Context, path string) (*Writer, int) {
	t.Helper()
	needTool(t, "ffmpeg")
	var logBuf bytes.Buffer
	w, err := NewWriter(ctx, path, Options{Width: tw, Height: th, FPS: tfps}, testLog(&logBuf))
	if err != nil {
		t.Fatal(err)
	}
	p := w.proc()
	if p == nil {
		t.Fatalf("ffmpeg not started: %s", logBuf.String())
	}
	if err := w.WriteChunk(synthFrames(chunkFrames, tw, th)); err != nil {
		t.Fatal(err)
	}
	pid := p.pid()
	if processGone(pid) {
		t.Fatal("ffmpeg already gone after one chunk")
	}
	return w, pid
}

func TestAbortKillsFFmpeg(t *testing.T) {
	path := tempPath(t, "abort.mp4")
	w, pid := startedWriter(t, context.Background(), path)
	w.Abort()
	if !processGone(pid) {
		t.Fatalf("ffmpeg pid %d still exists after Abort", pid)
	}
	for _, p := range []string{path, path + ".ffmpeg-partial", path + ".purego-partial"} {
		if fileExists(p) {
			t.Fatalf("%s left behind", p)
		}
	}
	if err := w.WriteChunk(synthFrames(1, tw, th)); err == nil {
		t.Fatal("WriteChunk after Abort succeeded")
	}
	w.Abort() // idempotent
}

func TestCancelKillsFFmpeg(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	path := tempPath(t, "cancel.mp4")
	w, pid := startedWriter(t, ctx, path)
	cancel()
	if err := w.WriteChunk(synthFrames(chunkFrames, tw, th)); !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteChunk after cancel: %v, want context.Canceled", err)
	}
	if _, err := w.Close(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close after cancel: %v, want context.Canceled", err)
	}
	if !processGone(pid) {
		t.Fatalf("ffmpeg pid %d still exists after cancel+Close", pid)
	}
	if fileExists(path) || fileExists(path+".ffmpeg-partial") {
		t.Fatal("output left behind after cancel")
	}
}

// Cancelling alone (no Close/Abort yet) must stop ffmpeg: CommandContext
// kills it, and it dies even though nobody has reaped it yet.
func TestCancelStopsRunningFFmpeg(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	path := tempPath(t, "cancel2.mp4")
	w, pid := startedWriter(t, ctx, path)
	defer w.Abort()
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for !exitedOrZombie(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("ffmpeg pid %d still running 5s after cancel", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// exitedOrZombie reports whether pid is gone or a zombie waiting to be reaped.
func exitedOrZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// Field 3, after "(comm)", is the state.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z'
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for n >= 10 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	i--
	b[i] = byte('0' + n)
	return string(b[i:])
}

// Abort after a successful Close must not delete the finished video.
func TestAbortAfterCloseKeepsFile(t *testing.T) {
	path := tempPath(t, "keep.mp4")
	var logBuf bytes.Buffer
	encode(t, context.Background(), path, Options{Width: tw, Height: th, FPS: tfps, FFmpeg: "none"}, synthFrames(16, tw, th), testLog(&logBuf))
	w, err := NewWriter(context.Background(), path, Options{Width: tw, Height: th, FPS: tfps, FFmpeg: "none"}, testLog(&logBuf))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteChunk(synthFrames(16, tw, th)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if !fileExists(path) {
		t.Fatal("Abort after Close removed the video")
	}
}

// TestCrashKillsFFmpeg: if the process that owns the writer dies without
// cleaning up (SIGKILL), ffmpeg dies with it (Pdeathsig on Linux).
func TestCrashKillsFFmpeg(t *testing.T) {
	if envconfig.Bool(envconfig.VideoCrashHelper) {
		crashHelper()
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux-only")
	}
	needTool(t, "ffmpeg")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKillsFFmpeg$")
	cmd.Env = append(os.Environ(), envconfig.VideoCrashHelper+"=1", envconfig.VideoCrashDir+"="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "ffmpeg-pid ")))
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	_ = cmd.Process.Kill() // the "crash"
	_ = cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for !exitedOrZombie(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("ffmpeg pid %d survived its parent's death", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// crashHelper starts a writer with one chunk in flight, reports ffmpeg's
// pid and waits to be killed.
func crashHelper() {
	var lb bytes.Buffer
	w, err := NewWriter(context.Background(), envconfig.String(envconfig.VideoCrashDir)+"/crash.mp4", Options{Width: tw, Height: th, FPS: tfps}, testLog(&lb))
	if err != nil || w.proc() == nil {
		fmt.Println("error", err, lb.String())
		os.Exit(1)
	}
	if err := w.WriteChunk(synthFrames(chunkFrames, tw, th)); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Printf("ffmpeg-pid %d\n", w.proc().pid())
	time.Sleep(time.Minute)
	os.Exit(1)
}

// TestAbortUnblocksWriteChunk: an ffmpeg that stops reading leaves
// WriteChunk blocked on a full pipe; Abort from another goroutine must kill
// it and release WriteChunk, whatever the interleaving.
func TestAbortUnblocksWriteChunk(t *testing.T) {
	bin := tempPath(t, "ffmpeg-stuck")
	writeScript(t, bin, "exec sleep 30\n")
	var lb bytes.Buffer
	w, err := NewWriter(context.Background(), tempPath(t, "stuck.mp4"), Options{Width: tw, Height: th, FPS: tfps, FFmpeg: bin}, testLog(&lb))
	if err != nil {
		t.Fatal(err)
	}
	pid := w.proc().pid()
	done := make(chan error, 1)
	go func() { done <- w.WriteChunk(synthFrames(chunkFrames, tw, th)) }()
	w.Abort()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, ErrAborted) {
			t.Fatalf("WriteChunk: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WriteChunk still blocked 10s after Abort")
	}
	if !processGone(pid) {
		t.Fatalf("pid %d still exists", pid)
	}
	if strings.Contains(lb.String(), `"level":"warn"`) {
		t.Fatalf("Abort logged a fallback warning: %s", lb.String())
	}
}
