package gpu

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

func TestPlacePins(t *testing.T) {
	b := newH100(t)
	tests := []struct {
		name     string
		visible  Visible
		gpu      int
		wantNVML int // -1: error
		wantErr  error
	}{
		{"auto is first visible", Visible{All: true}, AutoGPU, 0, nil},
		{"index", Visible{All: true}, 3, 3, nil},
		{"index into visible list", ParseVisible("5,6,7", true), 2, 7, nil},
		{"auto under visible", ParseVisible("6,2", true), AutoGPU, 6, nil},
		{"past the visible list", ParseVisible("5,6,7", true), 3, -1, ErrBadPin},
		{"past all devices", Visible{All: true}, 8, -1, ErrBadPin},
		{"negative, not auto", Visible{All: true}, -2, -1, ErrBadPin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Place(t.Context(), Config{Lib: b, Visible: tt.visible, GPU: tt.gpu})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer p.Close()
			d, err := p.Device(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !p.OnGPU() || d.NVMLIndex != tt.wantNVML || d.UUID != b.devs[tt.wantNVML].UUID {
				t.Errorf("pinned to nvml %d (%s), want %d", d.NVMLIndex, d.UUID, tt.wantNVML)
			}
			if want := "CUDA_VISIBLE_DEVICES=" + b.devs[tt.wantNVML].UUID; p.ChildEnv() != want {
				t.Errorf("ChildEnv = %q, want %q", p.ChildEnv(), want)
			}
			if !strings.Contains(p.Note, "NVIDIA H100 80GB HBM3") || !strings.Contains(p.Note, d.UUID) {
				t.Errorf("Note = %q", p.Note)
			}
			if want := fmt.Sprintf("GPU %d: NVIDIA H100 80GB HBM3 (%s)", d.Index, d.UUID); p.Label() != want {
				t.Errorf("Label = %q, want %q", p.Label(), want)
			}
		})
	}
}

func TestTelemetry(t *testing.T) {
	b := newH100(t)
	self := uint32(os.Getpid())
	b.devs[2].MemoryInfo = nvml.Memory{Total: 80 * gib, Used: 30 * gib, Free: 50 * gib}
	b.devs[2].GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
		return []nvml.ProcessInfo{{Pid: 1, UsedGpuMemory: 20 * gib}, {Pid: self, UsedGpuMemory: 10 * gib}}, nvml.SUCCESS
	}
	p, err := Place(t.Context(), Config{Lib: b, Visible: ParseVisible("2", true), GPU: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tel, err := p.Telemetry(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := Telemetry{Index: 0, UUID: b.devs[2].UUID, Name: "NVIDIA H100 80GB HBM3",
		Memory: Memory{Total: 80 * gib, Used: 30 * gib, Free: 50 * gib}, SelfUsed: 10 * gib}
	if tel == nil || tel.Index != want.Index || tel.UUID != want.UUID || tel.Name != want.Name ||
		tel.Memory != want.Memory || tel.SelfUsed != want.SelfUsed || tel.At.IsZero() {
		t.Fatalf("telemetry = %+v, want %+v", tel, want)
	}
	if tel.Utilization == nil || tel.Utilization.GPU != 20 {
		t.Errorf("utilization = %+v, want 20%%", tel.Utilization)
	}

	// A second snapshot sees the device change: telemetry is not cached.
	b.devs[2].MemoryInfo = nvml.Memory{Total: 80 * gib, Used: 70 * gib, Free: 10 * gib}
	tel, err = p.Telemetry(t.Context())
	if err != nil || tel.Memory.Free != 10*gib {
		t.Errorf("second snapshot = %+v, %v; want 10 GiB free", tel, err)
	}
}

func TestCloseShutsDownOnce(t *testing.T) {
	b := newH100(t)
	calls := 0
	b.ShutdownFunc = func() nvml.Return { calls++; return nvml.SUCCESS }
	p, err := Place(t.Context(), Config{Lib: b, GPU: 0})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Errorf("Shutdown called %d times, want 1", calls)
	}
}

// TestFailedPlacementReleasesNVML: when Open succeeds in Init but no
// placement results (everything hidden, or a bad --gpu), NVML is shut down
// again rather than leaked.
func TestFailedPlacementReleasesNVML(t *testing.T) {
	tests := []struct {
		name    string
		visible Visible
		gpu     int
		wantErr error
	}{
		{"all hidden", ParseVisible("-1", true), 0, nil}, // CPU placement, no error
		{"bad pin", Visible{All: true}, 8, ErrBadPin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newH100(t)
			inits, shutdowns := 0, 0
			b.InitFunc = func() nvml.Return { inits++; return nvml.SUCCESS }
			b.ShutdownFunc = func() nvml.Return { shutdowns++; return nvml.SUCCESS }
			p, err := Place(t.Context(), Config{Lib: b, Visible: tt.visible, GPU: tt.gpu})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if p != nil && p.OnGPU() {
				t.Fatalf("placement on a GPU: %s", p.Label())
			}
			if inits != 1 || shutdowns != 1 {
				t.Errorf("Init %d, Shutdown %d times; want 1 and 1", inits, shutdowns)
			}
		})
	}
}
