// Package gpu discovers NVIDIA GPUs through NVML, resolves CUDA_VISIBLE_DEVICES,
// pins a stage to one visible device and takes telemetry snapshots for heartbeats.
//
// Everything is written against nvml.Interface, which is injected: production
// passes nvml.New() (go-nvml dlopens libnvidia-ml at run time, so no driver is
// needed to build), tests pass go-nvml's mock servers (pkg/nvml/mock/dgxh100).
//
// A machine without the library, the driver or any device is normal for reel:
// the engine runs on the CPU. Open then returns an error wrapping ErrNoGPU, and
// Place turns it into a CPU placement whose Note callers log once. NVML calls
// are guarded: a panic inside the binding (a mock without a function, a broken
// library) becomes an error, never a crashed stage.
//
// A segfault inside libnvidia-ml cannot be recovered, so Place first runs
// discovery out of process (Config.Probe, Child.Probe: reel re-executes itself
// as the hidden `reel gpu-probe`, which calls RunProbe and prints one JSON
// line). If that child crashes, hangs past ProbeTimeout or prints garbage,
// the placement is the CPU, its Note says GPU discovery failed with the
// child's exit status and stderr, and NVML is never loaded in the stage.
package gpu
