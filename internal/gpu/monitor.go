package gpu

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// Monitor is an initialised NVML session over the visible devices. Static
// facts (name, UUID, order) are read once in Open; memory, utilisation and
// processes are read on every call. Safe for concurrent use: NVML is
// thread-safe and the Monitor's own state is immutable after Open.
type Monitor struct {
	lib       nvml.Interface
	handles   []handle // visible devices, in visible order
	closeOnce sync.Once
	closeErr  error
}

// System returns the real NVML binding. Nothing is loaded until Open calls
// Init, which dlopens libnvidia-ml.so.1.
func System() nvml.Interface { return nvml.New() }

// Open initialises NVML and resolves the visible devices. When no device is
// usable the error wraps ErrNoGPU (and the nvml.Return, if there is one); the
// caller then runs on the CPU.
func Open(ctx context.Context, lib nvml.Interface, vis Visible) (*Monitor, error) {
	if lib == nil {
		return nil, fmt.Errorf("%w: no NVML binding", ErrNoGPU)
	}
	err := guard("init", func() error { return check("init", lib.Init()) })
	if err != nil {
		// Any failure of Init leaves the CPU as the only engine; the two
		// common ones get a plain-words hint.
		switch {
		case errors.Is(err, nvml.ERROR_LIBRARY_NOT_FOUND):
			return nil, fmt.Errorf("%w (libnvidia-ml.so.1 not found: no NVIDIA driver installed): %w", ErrNoGPU, err)
		case errors.Is(err, nvml.ERROR_DRIVER_NOT_LOADED):
			return nil, fmt.Errorf("%w (the NVIDIA kernel driver is not loaded): %w", ErrNoGPU, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrNoGPU, err)
	}
	m := &Monitor{lib: lib}
	if err := m.discover(ctx, vis); err != nil {
		_ = m.Close()
		return nil, err
	}
	return m, nil
}

// discover enumerates NVML devices and keeps the visible ones.
func (m *Monitor) discover(ctx context.Context, vis Visible) error {
	var n int
	err := guard("device get count", func() error {
		var ret nvml.Return
		n, ret = m.lib.DeviceGetCount()
		return check("device get count", ret)
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoGPU, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: the NVIDIA driver reports no devices", ErrNoGPU)
	}
	all := make([]handle, n)
	uuids := make([]string, n)
	for i := range all {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := m.open(i)
		if err != nil {
			return err
		}
		all[i], uuids[i] = h, h.uuid
	}
	for _, i := range vis.Resolve(uuids) {
		m.handles = append(m.handles, all[i])
	}
	if len(m.handles) == 0 {
		return fmt.Errorf("%w: CUDA_VISIBLE_DEVICES=%q hides all %d devices", ErrNoGPU, vis.String(), n)
	}
	return nil
}

// open reads the static facts of NVML device i.
func (m *Monitor) open(i int) (handle, error) {
	h := handle{nvmlIndex: i}
	steps := []struct {
		op string
		f  func() nvml.Return
	}{
		{"device get handle by index", func() (r nvml.Return) { h.dev, r = m.lib.DeviceGetHandleByIndex(i); return }},
		{"device get name", func() (r nvml.Return) { h.name, r = h.dev.GetName(); return }},
		{"device get uuid", func() (r nvml.Return) { h.uuid, r = h.dev.GetUUID(); return }},
	}
	for _, s := range steps {
		if err := guard(s.op, func() error { return check(s.op, s.f()) }); err != nil {
			return handle{}, fmt.Errorf("gpu: device %d: %w", i, err)
		}
	}
	return h, nil
}

// Count is the number of visible devices.
func (m *Monitor) Count() int { return len(m.handles) }

// Devices returns every visible device with fresh memory, utilisation and
// process figures.
func (m *Monitor) Devices(ctx context.Context) ([]Device, error) {
	out := make([]Device, 0, len(m.handles))
	for i := range m.handles {
		d, err := m.Device(ctx, i)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Device returns visible device i with fresh figures.
func (m *Monitor) Device(ctx context.Context, i int) (Device, error) {
	if err := ctx.Err(); err != nil {
		return Device{}, err
	}
	if i < 0 || i >= len(m.handles) {
		return Device{}, fmt.Errorf("%w: --gpu %d, %d visible", ErrBadPin, i, len(m.handles))
	}
	d, err := m.handles[i].query(i)
	if err != nil {
		return Device{}, fmt.Errorf("gpu: device %d (%s): %w", i, m.handles[i].uuid, err)
	}
	return d, nil
}

// Close shuts NVML down; later calls return the first result.
func (m *Monitor) Close() error {
	m.closeOnce.Do(func() {
		m.closeErr = guard("shutdown", func() error { return check("shutdown", m.lib.Shutdown()) })
		if errors.Is(m.closeErr, nvml.ERROR_UNINITIALIZED) {
			m.closeErr = nil
		}
	})
	return m.closeErr
}
