package gpu

import (
	"errors"
	"testing"

	"github.com/reel-video/reel/internal/envconfig"
)

// TestLiveNVML runs against the real driver (REEL_GPU_LIVE=1 on a GPU
// machine): discovery, pinning and telemetry must agree with each other,
// and CUDA_VISIBLE_DEVICES=-1 must give the CPU.
func TestLiveNVML(t *testing.T) {
	if !envconfig.Bool(envconfig.GPULive) {
		t.Skip("set REEL_GPU_LIVE=1 on a machine with an NVIDIA GPU")
	}
	m, err := Open(t.Context(), System(), Visible{All: true})
	if err != nil {
		t.Fatal(err)
	}
	devs, err := m.Devices(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		t.Logf("%+v", d)
		if d.Name == "" || len(d.UUID) < 8 || d.Memory.Total == 0 || d.Memory.Free > d.Memory.Total || d.Memory.Used > d.Memory.Total {
			t.Errorf("implausible device %+v", d)
		}
	}
	last := len(devs) - 1
	p, err := Place(t.Context(), Config{Lib: System(), Visible: ParseVisible(devs[last].UUID, true), GPU: 0})
	if err != nil {
		t.Fatal(err)
	}
	tel, err := p.Telemetry(t.Context())
	if err != nil || tel == nil || tel.UUID != devs[last].UUID || tel.Memory.Total != devs[last].Memory.Total {
		t.Errorf("pinned telemetry = %+v, %v; want device %s", tel, err, devs[last].UUID)
	}
	t.Logf("placement: %s; %s; telemetry %+v", p.Label(), p.Note, tel)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	cpu, err := Place(t.Context(), Config{Lib: System(), Visible: ParseVisible("-1", true), GPU: AutoGPU})
	if err != nil || cpu.OnGPU() || !errors.Is(cpu.Reason, ErrNoGPU) {
		t.Errorf("CUDA_VISIBLE_DEVICES=-1: %+v, %v; want the CPU", cpu, err)
	}
}
