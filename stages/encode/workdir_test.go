package encode_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/reel-video/reel/stages/encode"
)

// Issue 13 item 9: kill -9 of encode leaves its temporary directory; the
// next encode process removes those of processes no longer running and
// keeps its live neighbours'.
func TestStaleWorkDirsRemoved(t *testing.T) {
	dir := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, fmt.Sprintf("reel-encode-%d-job1-123", dead.Process.Pid))
	live := filepath.Join(dir, fmt.Sprintf("reel-encode-%d-job2-456", os.Getppid()))
	other := filepath.Join(dir, "unrelated")
	for _, d := range []string{stale, live, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := encode.New(encode.Config{WorkDir: dir, FPS: 8}); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]bool{stale: false, live: true, other: true} {
		if _, err := os.Stat(d); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", filepath.Base(d), err == nil, want)
		}
	}
}
