package gpu

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/reel-video/reel/internal/mem"
)

// AutoGPU as Config.GPU pins to the first visible device when there is one,
// as CUDA itself defaults to device 0.
const AutoGPU = -1

// Config says how a stage chooses its device.
type Config struct {
	// Lib is the NVML binding; nil means System().
	Lib nvml.Interface
	// Visible is CUDA_VISIBLE_DEVICES, usually VisibleFromEnv().
	Visible Visible
	// GPU is --gpu N: an index into the visible devices, or AutoGPU.
	GPU int
	// Probe, when set, runs discovery out of process before NVML is loaded
	// here (Child.Probe): Go recovers a panic in the binding but not a
	// segfault in libnvidia-ml. If the probe fails, or finds no GPU, the
	// placement is the CPU and Lib is never initialised. nil skips it: only
	// for bindings that cannot fault, such as go-nvml's mocks.
	Probe ProbeFunc
}

// Placement is where a stage runs: pinned to one visible GPU, or on the CPU
// engine when none is usable. Close it when the stage stops.
type Placement struct {
	monitor *Monitor // nil on the CPU
	index   int      // visible index when monitor != nil
	uuid    string
	// Note is the one line to log at start-up, e.g. NoGPUMessage.
	Note string
	// Reason is why no GPU is used (wraps ErrNoGPU, and ErrDiscovery when
	// the probe failed); nil when pinned.
	Reason error
}

// Place probes (cfg.Probe), then opens NVML and pins to cfg.GPU. Missing NVML, driver or devices is
// not an error: the placement is the CPU and Note says so. Naming a device
// that does not exist while GPUs are visible, or a negative index other
// than AutoGPU, is an error wrapping ErrBadPin, because that is a
// configuration mistake and silently using another device would hide it.
func Place(ctx context.Context, cfg Config) (*Placement, error) {
	if cfg.Probe != nil {
		res, err := cfg.Probe(ctx)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		if err != nil {
			return &Placement{index: -1, Note: fmt.Sprintf("%v; using the CPU engine", err), Reason: fmt.Errorf("%w: %w", ErrNoGPU, err)}, nil
		}
		if len(res.Devices) == 0 {
			return &Placement{index: -1, Note: NoGPUMessage, Reason: noGPUError(res.NoGPU)}, nil
		}
	}
	lib := cfg.Lib
	if lib == nil {
		lib = System()
	}
	m, err := Open(ctx, lib, cfg.Visible)
	if errors.Is(err, ErrNoGPU) {
		return &Placement{index: -1, Note: NoGPUMessage, Reason: err}, nil
	}
	if err != nil {
		return nil, err
	}
	i := cfg.GPU
	if i == AutoGPU {
		i = 0
	}
	d, err := m.Device(ctx, i)
	if err != nil {
		_ = m.Close()
		return nil, err
	}
	return &Placement{
		monitor: m,
		index:   i,
		uuid:    d.UUID,
		Note:    fmt.Sprintf("pinned to GPU %d of %d visible: %s (%s), %s free", i, m.Count(), d.Name, d.UUID, formatBytes(d.Memory.Free)),
	}, nil
}

// OnGPU reports whether the placement holds a device.
func (p *Placement) OnGPU() bool { return p != nil && p.monitor != nil }

// Index is the visible index of the pinned device, -1 on the CPU.
func (p *Placement) Index() int {
	if !p.OnGPU() {
		return -1
	}
	return p.index
}

// Label names the placement for heartbeats and `reel workers`: "cpu", or
// "GPU 0: NVIDIA H100 80GB HBM3 (GPU-…)" with the visible index.
func (p *Placement) Label() string {
	if !p.OnGPU() {
		return "cpu"
	}
	h := p.monitor.handles[p.index]
	return fmt.Sprintf("GPU %d: %s (%s)", p.index, h.name, h.uuid)
}

// Device returns the pinned device with fresh figures.
func (p *Placement) Device(ctx context.Context) (Device, error) {
	if !p.OnGPU() {
		return Device{}, p.Reason
	}
	return p.monitor.Device(ctx, p.index)
}

// ChildEnv is the environment entry that makes a child process (a stage
// started by this one) see only the pinned device; empty on the CPU. The UUID
// is used, not the index, so the child's view does not depend on order.
func (p *Placement) ChildEnv() string {
	if !p.OnGPU() {
		return ""
	}
	return "CUDA_VISIBLE_DEVICES=" + p.uuid
}

// Close releases NVML.
func (p *Placement) Close() error {
	if !p.OnGPU() {
		return nil
	}
	return p.monitor.Close()
}

// formatBytes renders a byte count like every other size reel prints.
func formatBytes(n uint64) string { return mem.FormatSize(int64(min(n, math.MaxInt64))) }
