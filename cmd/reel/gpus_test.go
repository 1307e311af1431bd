package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/bustest"
)

// On a machine without an NVIDIA driver (as here; skipped on one with a
// GPU), `reel gpus` goes through the gpu-probe child and still prints the
// plain no-GPU line and exits 0; --json keeps stdout an empty array; the
// hidden probe prints its one JSON line.
func TestGPUsWithoutGPU(t *testing.T) {
	ctx := bustest.Ctx(t, time.Minute)
	stdout, stderr, code := run(t, ctx, "gpu-probe")
	var res struct {
		Devices []json.RawMessage `json:"devices"`
		NoGPU   string            `json:"no_gpu"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil {
		t.Fatalf("gpu-probe: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if len(res.Devices) > 0 {
		t.Skipf("this machine has %d GPUs", len(res.Devices))
	}
	stdout, stderr, code = run(t, ctx, "gpus")
	if code != 0 || !strings.HasPrefix(stdout, "no NVIDIA GPU found") {
		t.Errorf("gpus: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	stdout, stderr, code = run(t, ctx, "gpus", "--json")
	if code != 0 || strings.TrimSpace(stdout) != "[]" || !strings.HasPrefix(stderr, "no NVIDIA GPU found") {
		t.Errorf("gpus --json: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if help, _, code := run(t, ctx, "--help"); code != 0 || strings.Contains(help, "gpu-probe") {
		t.Errorf("--help: exit %d; gpu-probe must stay hidden:\n%s", code, help)
	}
}
