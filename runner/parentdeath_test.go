//go:build linux

package runner_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reel-video/reel/internal/envconfig"
	"github.com/reel-video/reel/runner"
)

// TestMain lets the test binary double as a stage process that starts a
// runner and waits forever (REEL_RUNNER_TEST_STAGE names the script).
func TestMain(m *testing.M) {
	if script := envconfig.String(envconfig.RunnerTestStage); script != "" {
		e, err := runner.Start(context.Background(), runner.Config{Command: []string{python, script}})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("pid", e.PID())
		select {}
	}
	os.Exit(m.Run())
}

// TestRunnerDiesWithStage: kill -9 of the stage kills its runner (the
// parent-death signal), with nothing left to clean up.
func TestRunnerDiesWithStage(t *testing.T) {
	needPython(t, "msgpack")
	// The runner answers hello and then never reads stdin again, so only
	// the parent-death signal (not EOF on stdin) can end it.
	script := writeScript(t, "deaf.py", strings.Replace(hungRunner, "req = read()\nprint(", "print(", 1))
	stage := exec.Command(os.Args[0], "-test.run=^$")
	stage.Env = append(os.Environ(), envconfig.RunnerTestStage+"="+script)
	out, err := stage.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := stage.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "pid ") {
		stage.Process.Kill()
		t.Fatalf("stage said %q, %v", line, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "pid ")))
	if err != nil || syscall.Kill(pid, 0) != nil {
		t.Fatalf("runner pid %q not running", line)
	}
	stage.Process.Kill()
	stage.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil { // the runner is re-parented and reaped once dead
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("runner %d still alive 5 s after its stage was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
