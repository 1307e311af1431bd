package gpu

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteJSON writes devices as an indented JSON array (never null, so a
// machine without GPUs reads as []).
func WriteJSON(w io.Writer, devs []Device) error {
	if devs == nil {
		devs = []Device{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(devs)
}

// WriteTable writes one row per device, then one row per process. INDEX is
// what --gpu takes; NVML is nvidia-smi's number for the same board.
func WriteTable(w io.Writer, devs []Device) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tNVML\tNAME\tUUID\tMEM TOTAL\tMEM USED\tMEM FREE\tGPU UTIL\tMEM UTIL")
	for _, d := range devs {
		gu, mu := "n/a", "n/a"
		if d.Utilization != nil {
			gu, mu = fmt.Sprintf("%d%%", d.Utilization.GPU), fmt.Sprintf("%d%%", d.Utilization.Memory)
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Index, d.NVMLIndex, d.Name, d.UUID,
			formatBytes(d.Memory.Total), formatBytes(d.Memory.Used), formatBytes(d.Memory.Free), gu, mu)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "INDEX\tPID\tPROCESS\tGPU MEMORY")
	n := 0
	for _, d := range devs {
		for _, p := range d.Processes {
			name := p.Name
			if name == "" {
				name = "?"
			}
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s\n", d.Index, p.PID, name, formatBytes(p.UsedMemory))
			n++
		}
	}
	if n == 0 {
		fmt.Fprintln(tw, "-\t-\tno processes\t-")
	}
	return tw.Flush()
}
