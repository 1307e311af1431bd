package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/reel-video/reel/internal/gpu"
)

// newGPUsCommand is `reel gpus [--json]`: the visible NVIDIA devices, their
// memory, utilisation and processes. A machine without NVIDIA GPUs is normal
// (reel runs on the CPU), so that case prints one plain line and exits 0.
func newGPUsCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "gpus",
		Short: "List the NVIDIA GPUs a stage can pin to (--gpu N), with memory, utilisation and processes",
		Long: `List the NVIDIA GPUs visible to reel through NVML, honouring CUDA_VISIBLE_DEVICES.
INDEX is the number --gpu takes; NVML is nvidia-smi's number for the same board.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			m, err := gpu.Open(ctx, gpu.System(), gpu.VisibleFromEnv())
			if errors.Is(err, gpu.ErrNoGPU) {
				if asJSON {
					// stdout stays valid JSON for scripts; the reason goes to stderr.
					fmt.Fprintf(cmd.ErrOrStderr(), "%v\n", err)
					return gpu.WriteJSON(cmd.OutOrStdout(), nil)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%v\n", err)
				return nil
			}
			if err != nil {
				return err
			}
			defer m.Close()
			devs, err := m.Devices(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				return gpu.WriteJSON(cmd.OutOrStdout(), devs)
			}
			return gpu.WriteTable(cmd.OutOrStdout(), devs)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (an array of devices; [] when there is none)")
	return cmd
}
