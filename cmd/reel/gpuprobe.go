package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/reel-video/reel/internal/gpu"
)

// gpuProbeCommand is the hidden subcommand a reel process runs in a child
// of itself to discover GPUs.
const gpuProbeCommand = "gpu-probe"

// newGPUProbeCommand is `reel gpu-probe`: initialise NVML, print one JSON
// line (gpu.ProbeResult) on stdout and exit. It exists so that loading
// libnvidia-ml happens in a short-lived process first: if the library or
// driver faults, this child dies and its parent falls back to the CPU
// (the ollama pattern, docs in internal/gpu). Stdout is reserved for the
// result; anything else goes to stderr, which the parent quotes on failure.
func newGPUProbeCommand() *cobra.Command {
	return &cobra.Command{
		Use:    gpuProbeCommand,
		Short:  "Discover GPUs through NVML and print the result as JSON (used internally)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return gpu.RunProbe(cmd.Context(), gpu.System(), gpu.VisibleFromEnv(), cmd.OutOrStdout())
		},
	}
}

// selfProbe runs `reel gpu-probe` from this very binary, with this
// process's environment (CUDA_VISIBLE_DEVICES included).
func selfProbe(ctx context.Context) (gpu.ProbeResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return gpu.ProbeResult{}, fmt.Errorf("%w: find the reel binary: %w", gpu.ErrDiscovery, err)
	}
	return gpu.Child{Path: exe, Args: []string{gpuProbeCommand}}.Probe(ctx)
}
