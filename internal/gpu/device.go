package gpu

import (
	"errors"
	"sort"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// Device is one visible GPU as reel reports it.
type Device struct {
	// Index is the position among visible devices: what --gpu N selects.
	Index int `json:"index" msgpack:"index"`
	// NVMLIndex is the device's index in NVML (and nvidia-smi).
	NVMLIndex int    `json:"nvml_index" msgpack:"nvml_index"`
	Name      string `json:"name" msgpack:"name"`
	UUID      string `json:"uuid" msgpack:"uuid"`
	Memory    Memory `json:"memory" msgpack:"memory"`
	// Utilization is nil when the device does not report it.
	Utilization *Utilization `json:"utilization,omitempty" msgpack:"utilization,omitempty"`
	Processes   []Process    `json:"processes" msgpack:"processes"`
}

// Memory is device memory in bytes.
type Memory struct {
	Total uint64 `json:"total" msgpack:"total"`
	Used  uint64 `json:"used" msgpack:"used"`
	Free  uint64 `json:"free" msgpack:"free"`
}

// Utilization is the percentage of the last sample period during which a
// kernel ran (GPU) or device memory was read or written (Memory).
type Utilization struct {
	GPU    uint32 `json:"gpu" msgpack:"gpu"`
	Memory uint32 `json:"memory" msgpack:"memory"`
}

// Process is a process using the device.
type Process struct {
	PID uint32 `json:"pid" msgpack:"pid"`
	// Name comes from /proc; empty when the process is in another PID
	// namespace or already gone.
	Name       string `json:"name,omitempty" msgpack:"name,omitempty"`
	UsedMemory uint64 `json:"used_memory" msgpack:"used_memory"`
}

// valueNotAvailable is NVML_VALUE_NOT_AVAILABLE for unsigned long long: what
// NVML puts in UsedGpuMemory when it cannot attribute memory to a process.
const valueNotAvailable = ^uint64(0)

// handle is what Open learns once about a device; the rest is refreshed.
type handle struct {
	dev       nvml.Device
	nvmlIndex int
	name      string
	uuid      string
}

// query reads the changing state of one device. Memory is required; the
// utilisation and process lists are optional because many boards, vGPUs and
// containers answer ERROR_NOT_SUPPORTED or ERROR_NO_PERMISSION for them.
func (h handle) query(index int) (Device, error) {
	d := Device{Index: index, NVMLIndex: h.nvmlIndex, Name: h.name, UUID: h.uuid}
	mem, err := h.memory()
	if err != nil {
		return Device{}, err
	}
	d.Memory = mem
	_ = guard("device get utilization rates", func() error {
		u, ret := h.dev.GetUtilizationRates()
		if ret == nvml.SUCCESS {
			d.Utilization = &Utilization{GPU: u.Gpu, Memory: u.Memory}
		}
		return nil
	})
	d.Processes = h.processes()
	return d, nil
}

// processes merges compute and graphics processes (a process can be both)
// and sorts them by PID so output is stable.
func (h handle) processes() []Process {
	byPID := make(map[uint32]uint64)
	lists := []struct {
		op string
		f  func() ([]nvml.ProcessInfo, nvml.Return)
	}{
		{"device get compute running processes", h.dev.GetComputeRunningProcesses},
		{"device get graphics running processes", h.dev.GetGraphicsRunningProcesses},
	}
	for _, l := range lists {
		_ = guard(l.op, func() error {
			ps, ret := l.f()
			if ret != nvml.SUCCESS {
				return errors.New(ret.Error())
			}
			for _, p := range ps {
				used := p.UsedGpuMemory
				if used == valueNotAvailable {
					used = 0
				}
				if used >= byPID[p.Pid] {
					byPID[p.Pid] = used
				}
			}
			return nil
		})
	}
	out := make([]Process, 0, len(byPID))
	for pid, used := range byPID {
		out = append(out, Process{PID: pid, Name: processName(pid), UsedMemory: used})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out
}

// memory prefers nvmlDeviceGetMemoryInfo_v2, whose Used excludes the memory
// the driver reserves for itself (what nvidia-smi shows: v1 counts about
// 600 MiB of reservation as used on an idle H200), and falls back to v1 on
// drivers or mocks without it.
func (h handle) memory() (Memory, error) {
	var out Memory
	err := guard("device get memory info v2", func() error {
		m, ret := h.dev.GetMemoryInfo_v2()
		if err := check("device get memory info v2", ret); err != nil {
			return err
		}
		out = Memory{Total: m.Total, Used: m.Used, Free: m.Free}
		return nil
	})
	if err == nil {
		return out, nil
	}
	err = guard("device get memory info", func() error {
		m, ret := h.dev.GetMemoryInfo()
		if err := check("device get memory info", ret); err != nil {
			return err
		}
		out = Memory{Total: m.Total, Used: m.Used, Free: m.Free}
		return nil
	})
	return out, err
}
