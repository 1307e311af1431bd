package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/reel-video/reel/internal/gpu"
)

// newGPUsCommand is `reel gpus [--json]`: the visible NVIDIA devices, their
// memory, utilisation and processes. A machine without NVIDIA GPUs is normal
// (reel runs on the CPU), so that case prints one plain line and exits 0.
//
// The listing is the probe child's (`reel gpu-probe`): this process never
// loads libnvidia-ml, so a faulting driver gives an error naming the child's
// exit status and stderr instead of a crash.
func newGPUsCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "gpus",
		Short: "List the NVIDIA GPUs a stage can pin to (--gpu N), with memory, utilisation and processes",
		Long: `List the NVIDIA GPUs visible to reel through NVML, honouring CUDA_VISIBLE_DEVICES.
INDEX is the number --gpu takes; NVML is nvidia-smi's number for the same board.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := selfProbe(cmd.Context())
			if err != nil {
				return err
			}
			if len(res.Devices) == 0 {
				if asJSON {
					// stdout stays valid JSON for scripts; the reason goes to stderr.
					fmt.Fprintln(cmd.ErrOrStderr(), res.NoGPU)
					return gpu.WriteJSON(cmd.OutOrStdout(), nil)
				}
				fmt.Fprintln(cmd.OutOrStdout(), res.NoGPU)
				return nil
			}
			if asJSON {
				return gpu.WriteJSON(cmd.OutOrStdout(), res.Devices)
			}
			return gpu.WriteTable(cmd.OutOrStdout(), res.Devices)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (an array of devices; [] when there is none)")
	return cmd
}
