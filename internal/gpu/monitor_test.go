package gpu

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

func TestDiscoverMockServers(t *testing.T) {
	tests := []struct {
		name      string
		box       box
		wantName  string
		wantTotal uint64
	}{
		{"dgxh100", newH100(t), "NVIDIA H100 80GB HBM3", 81920 << 20},
		{"dgxh200", newH200(t), "NVIDIA H200 141GB HBM3e", 144384 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Open(t.Context(), tt.box, Visible{All: true})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			devs, err := m.Devices(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(devs) != 8 {
				t.Fatalf("%d devices, want 8", len(devs))
			}
			for i, d := range devs {
				used := uint64(i+1) * gib
				want := Device{
					Index: i, NVMLIndex: i, Name: tt.wantName, UUID: tt.box.devs[i].UUID,
					Memory:      Memory{Total: tt.wantTotal, Used: used, Free: tt.wantTotal - used},
					Utilization: &Utilization{GPU: uint32(10 * i), Memory: uint32(5 * i)},
				}
				if d.Index != want.Index || d.NVMLIndex != want.NVMLIndex || d.Name != want.Name ||
					d.UUID != want.UUID || d.Memory != want.Memory || *d.Utilization != *want.Utilization {
					t.Errorf("device %d = %+v, want %+v", i, d, want)
				}
				if len(d.Processes) != 1 || d.Processes[0].PID != uint32(1000+i) || d.Processes[0].UsedMemory != used {
					t.Errorf("device %d processes = %+v", i, d.Processes)
				}
			}
		})
	}
}

func TestOpenHonoursVisible(t *testing.T) {
	b := newH100(t)
	tests := []struct {
		name    string
		vis     Visible
		want    []int // NVML indices in visible order
		wantErr error
	}{
		{"all", Visible{All: true}, []int{0, 1, 2, 3, 4, 5, 6, 7}, nil},
		{"reordered", ParseVisible("6,2", true), []int{6, 2}, nil},
		{"by uuid", ParseVisible(b.devs[5].UUID+",1", true), []int{5, 1}, nil},
		{"by uuid prefix", ParseVisible(b.devs[4].UUID[:13], true), []int{4}, nil},
		{"hidden by -1", ParseVisible("-1", true), nil, ErrNoGPU},
		{"hidden by empty", ParseVisible("", true), nil, ErrNoGPU},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Open(t.Context(), b, tt.vis)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer m.Close()
			devs, err := m.Devices(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(devs) != len(tt.want) {
				t.Fatalf("%d devices, want %d", len(devs), len(tt.want))
			}
			for i, d := range devs {
				if d.Index != i || d.NVMLIndex != tt.want[i] || d.UUID != b.devs[tt.want[i]].UUID {
					t.Errorf("visible %d = index %d nvml %d %s, want nvml %d", i, d.Index, d.NVMLIndex, d.UUID, tt.want[i])
				}
			}
		})
	}
}

// TestNoGPU covers the ways NVML can be absent or broken; each must give
// ErrNoGPU (so the stage uses the CPU) and never panic.
func TestNoGPU(t *testing.T) {
	tests := []struct {
		name  string
		lib   func() nvml.Interface
		cause error // also in the chain, when not nil
	}{
		{"nil binding", func() nvml.Interface { return nil }, nil},
		{"library not found", func() nvml.Interface {
			b := newH100(t)
			b.InitFunc = func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }
			return b
		}, nvml.ERROR_LIBRARY_NOT_FOUND},
		{"driver not loaded", func() nvml.Interface {
			b := newH100(t)
			b.InitFunc = func() nvml.Return { return nvml.ERROR_DRIVER_NOT_LOADED }
			return b
		}, nvml.ERROR_DRIVER_NOT_LOADED},
		{"init panics", func() nvml.Interface {
			b := newH100(t)
			b.InitFunc = func() nvml.Return { panic("cgo exploded") }
			return b
		}, nil},
		{"no devices", func() nvml.Interface { return fill(dgxh100NewWith()) }, nil},
		{"count fails", func() nvml.Interface {
			b := newH100(t)
			b.DeviceGetCountFunc = func() (int, nvml.Return) { return 0, nvml.ERROR_UNKNOWN }
			return b
		}, nvml.ERROR_UNKNOWN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(t.Context(), tt.lib(), Visible{All: true})
			if !errors.Is(err, ErrNoGPU) {
				t.Fatalf("err = %v, want ErrNoGPU", err)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.cause)
			}
			p, err := Place(t.Context(), Config{Lib: tt.lib(), GPU: 0})
			if err != nil {
				t.Fatalf("Place: %v", err)
			}
			if p.OnGPU() || p.Note != NoGPUMessage || !errors.Is(p.Reason, ErrNoGPU) || p.Index() != -1 || p.Label() != "cpu" || p.ChildEnv() != "" {
				t.Errorf("placement = %+v, want the CPU with %q", p, NoGPUMessage)
			}
			if tel, err := p.Telemetry(t.Context()); tel != nil || err != nil {
				t.Errorf("CPU telemetry = %v, %v; want nil, nil", tel, err)
			}
		})
	}
}

// TestNoLibraryOnThisMachine uses the real binding: where libnvidia-ml is
// not installed (CI, this project's build machine), Init must fail cleanly.
func TestNoLibraryOnThisMachine(t *testing.T) {
	if hasNVML() {
		t.Skip("libnvidia-ml is installed here")
	}
	p, err := Place(t.Context(), Config{Lib: System(), Visible: VisibleFromEnv(), GPU: AutoGPU})
	if err != nil {
		t.Fatal(err)
	}
	if p.OnGPU() || !errors.Is(p.Reason, nvml.ERROR_LIBRARY_NOT_FOUND) {
		t.Errorf("placement = %+v, reason %v; want CPU, ERROR_LIBRARY_NOT_FOUND", p, p.Reason)
	}
}

// hasNVML looks for the library where the dynamic loader would find it.
func hasNVML() bool {
	for _, dir := range []string{"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/nvidia/lib64", "/lib/x86_64-linux-gnu"} {
		if _, err := os.Stat(dir + "/libnvidia-ml.so.1"); err == nil {
			return true
		}
	}
	return strings.Contains(os.Getenv("LD_LIBRARY_PATH"), "nvidia")
}

// TestOptionalQueriesMayFail: utilisation and process lists are often not
// supported (or, in the stock mock, not implemented: calling them panics);
// the device must still be reported. Memory is required.
func TestOptionalQueriesMayFail(t *testing.T) {
	tests := []struct {
		name    string
		break_  func(b box)
		wantErr bool
	}{
		{"unimplemented optional funcs", func(b box) {
			b.devs[0].GetUtilizationRatesFunc = nil
			b.devs[0].GetComputeRunningProcessesFunc = nil
			b.devs[0].GetGraphicsRunningProcessesFunc = nil
		}, false},
		{"not supported", func(b box) {
			b.devs[0].GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{}, nvml.ERROR_NOT_SUPPORTED }
			b.devs[0].GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) { return nil, nvml.ERROR_NO_PERMISSION }
		}, false},
		{"memory lost", func(b box) {
			b.devs[0].GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) { return nvml.Memory{}, nvml.ERROR_GPU_IS_LOST }
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newH100(t)
			tt.break_(b)
			m, err := Open(t.Context(), b, Visible{All: true})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			d, err := m.Device(t.Context(), 0)
			if tt.wantErr {
				if !errors.Is(err, nvml.ERROR_GPU_IS_LOST) {
					t.Fatalf("err = %v, want ERROR_GPU_IS_LOST", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Utilization != nil || len(d.Processes) != 0 || d.Memory.Used != gib {
				t.Errorf("device = %+v, want memory only", d)
			}
		})
	}
}

func TestProcessMerging(t *testing.T) {
	b := newH100(t)
	self := uint32(os.Getpid())
	b.devs[0].GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
		return []nvml.ProcessInfo{{Pid: self, UsedGpuMemory: 3 * gib}, {Pid: 7, UsedGpuMemory: ^uint64(0)}}, nvml.SUCCESS
	}
	b.devs[0].GetGraphicsRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
		return []nvml.ProcessInfo{{Pid: self, UsedGpuMemory: gib}, {Pid: 5, UsedGpuMemory: 2 * gib}}, nvml.SUCCESS
	}
	m, err := Open(t.Context(), b, Visible{All: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	d, err := m.Device(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	want := []Process{{PID: 5, UsedMemory: 2 * gib}, {PID: 7}, {PID: self, Name: strings.TrimSpace(string(comm)), UsedMemory: 3 * gib}}
	if len(d.Processes) != len(want) {
		t.Fatalf("processes = %+v, want %+v", d.Processes, want)
	}
	for i := range want {
		got := d.Processes[i]
		if got.PID != want[i].PID || got.UsedMemory != want[i].UsedMemory || (want[i].Name != "" && got.Name != want[i].Name) {
			t.Errorf("process %d = %+v, want %+v", i, got, want[i])
		}
	}
}

// TestMemoryV2Preferred: where the driver has nvmlDeviceGetMemoryInfo_v2,
// its figures (reserved memory not counted as used) win over v1's.
func TestMemoryV2Preferred(t *testing.T) {
	b := newH100(t)
	b.devs[0].GetMemoryInfo_v2Func = func() (nvml.Memory_v2, nvml.Return) {
		return nvml.Memory_v2{Total: 80 * gib, Reserved: gib / 2, Used: 0, Free: 80*gib - gib/2}, nvml.SUCCESS
	}
	b.devs[1].GetMemoryInfo_v2Func = func() (nvml.Memory_v2, nvml.Return) {
		return nvml.Memory_v2{}, nvml.ERROR_FUNCTION_NOT_FOUND
	}
	m, err := Open(t.Context(), b, Visible{All: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tests := []struct {
		dev  int
		want Memory
	}{
		{0, Memory{Total: 80 * gib, Used: 0, Free: 80*gib - gib/2}},
		{1, Memory{Total: 81920 << 20, Used: 2 * gib, Free: 81920<<20 - 2*gib}}, // v1 fallback
		{2, Memory{Total: 81920 << 20, Used: 3 * gib, Free: 81920<<20 - 3*gib}}, // v2 unimplemented in the mock
	}
	for _, tt := range tests {
		d, err := m.Device(t.Context(), tt.dev)
		if err != nil || d.Memory != tt.want {
			t.Errorf("device %d memory = %+v, %v; want %+v", tt.dev, d.Memory, err, tt.want)
		}
	}
}
