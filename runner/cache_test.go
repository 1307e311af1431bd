package runner_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reel-video/reel/runner"
)

func TestWriteEmbeddedWeights(t *testing.T) {
	dir := t.TempDir()
	first, err := runner.WriteEmbeddedWeights(dir)
	if err != nil {
		t.Fatal(err)
	}
	for role, p := range first {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if want := "sha256-" + hex.EncodeToString(sum[:]) + ".safetensors"; filepath.Base(p) != want {
			t.Errorf("%s: file %s holds content %s", role, p, want)
		}
	}
	again, err := runner.WriteEmbeddedWeights(dir)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(first) != 3 || len(entries) != 3 || again["dit"] != first["dit"] {
		t.Errorf("roles %v, files %d, second call %v: want 3 files written once", first, len(entries), again)
	}
}

func TestTorchCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("REEL_PYTHON", "/opt/py/bin/python3")
	cmd, err := runner.TorchCommand(runner.TorchOptions{Device: "cuda:1", CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmd) != 4 || cmd[0] != "/opt/py/bin/python3" || cmd[2] != "--device" || cmd[3] != "cuda:1" ||
		!strings.HasPrefix(cmd[1], dir) {
		t.Fatalf("command %q", cmd)
	}
	for _, f := range []string{"runner.py", "engine.py", "reeltiny.py", "protocol.py", "checkpoint.py"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(cmd[1]), f)); err != nil {
			t.Error(err)
		}
	}
	if cmd, _ := runner.TorchCommand(runner.TorchOptions{Python: "py", CacheDir: dir}); cmd[0] != "py" || cmd[3] != "cpu" {
		t.Errorf("explicit python and default device: %q", cmd)
	}
}
