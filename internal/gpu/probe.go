package gpu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// ErrDiscovery means the GPU discovery probe itself failed: the child that
// loads NVML crashed, hung or printed something that is not a result. The
// stage then runs on the CPU and never loads NVML in its own process.
var ErrDiscovery = errors.New("GPU discovery failed")

// ProbeResult is what a probe child prints on stdout: one JSON object.
// Exactly one of Devices (non-empty) and NoGPU is set.
type ProbeResult struct {
	Devices []Device `json:"devices,omitempty"`
	// NoGPU is why no GPU is usable (an ErrNoGPU message), e.g. no driver.
	NoGPU string `json:"no_gpu,omitempty"`
}

// ProbeFunc runs NVML discovery where a fault inside libnvidia-ml cannot
// take the caller down (Child.Probe in production). Its error wraps
// ErrDiscovery when the probe broke, or the context's error.
type ProbeFunc func(ctx context.Context) (ProbeResult, error)

// RunProbe is the child's side of a probe: it opens NVML, lists the visible
// devices and writes one ProbeResult line to w. A machine without a GPU is a
// result, not an error; any other failure is returned, and the child should
// exit non-zero with it on stderr.
func RunProbe(ctx context.Context, lib nvml.Interface, vis Visible, w io.Writer) error {
	res, err := probeDevices(ctx, lib, vis)
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(res)
}

func probeDevices(ctx context.Context, lib nvml.Interface, vis Visible) (ProbeResult, error) {
	m, err := Open(ctx, lib, vis)
	if errors.Is(err, ErrNoGPU) {
		return ProbeResult{NoGPU: err.Error()}, nil
	}
	if err != nil {
		return ProbeResult{}, err
	}
	defer m.Close()
	devs, err := m.Devices(ctx)
	if err != nil {
		return ProbeResult{}, err
	}
	return ProbeResult{Devices: devs}, nil
}

// parseProbe reads a child's stdout. Only the last non-empty line counts, so
// a driver that prints a warning first does not fail discovery; a result
// without devices or a reason is as bad as no JSON at all.
func parseProbe(stdout []byte) (ProbeResult, error) {
	lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	var res ProbeResult
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		return ProbeResult{}, fmt.Errorf("stdout is not a probe result (%q): %w", clip(last, 80), err)
	}
	if (len(res.Devices) == 0) == (res.NoGPU == "") {
		return ProbeResult{}, fmt.Errorf("stdout is not a probe result (%q): want devices or no_gpu", clip(last, 80))
	}
	return res, nil
}

// noGPUError rebuilds the child's no-GPU reason as an error wrapping ErrNoGPU.
func noGPUError(msg string) error {
	rest, ok := strings.CutPrefix(msg, ErrNoGPU.Error())
	if !ok {
		rest = ": " + msg
	}
	return fmt.Errorf("%w%s", ErrNoGPU, rest)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
