package gpu

import (
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh200"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// box is a mock DGX whose devices report memory in use, utilisation and
// processes: the stock mocks report 0 used / 0 free and leave the
// utilisation and process functions unset (calling them panics).
type box struct {
	*server.Server
	devs []*server.Device
}

const gib = 1 << 30

func newH100(t *testing.T) box { t.Helper(); return fill(dgxh100.New()) }
func newH200(t *testing.T) box { t.Helper(); return fill(dgxh200.New()) }

// fill gives device i (i+1) GiB used, utilisation 10·i %, and one process
// (PID 1000+i) holding the used memory.
func fill(s *server.Server) box {
	b := box{Server: s}
	for i, d := range s.Devices {
		dev := d.(*server.Device)
		used := uint64(i+1) * gib
		dev.MemoryInfo.Used = used
		dev.MemoryInfo.Free = dev.MemoryInfo.Total - used
		util := uint32(10 * i)
		pid := uint32(1000 + i)
		dev.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{Gpu: util, Memory: util / 2}, nvml.SUCCESS
		}
		dev.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
			return []nvml.ProcessInfo{{Pid: pid, UsedGpuMemory: used}}, nvml.SUCCESS
		}
		dev.GetGraphicsRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
			return nil, nvml.SUCCESS
		}
		b.devs = append(b.devs, dev)
	}
	return b
}

// dgxh100NewWith builds an H100 box with no GPUs: the driver answers, but
// reports zero devices.
func dgxh100NewWith() *server.Server { return dgxh100.NewWithGPUs() }
