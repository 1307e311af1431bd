package gpu

import (
	"strconv"
	"strings"

	"github.com/reel-video/reel/internal/envconfig"
)

// Visible is a parsed CUDA_VISIBLE_DEVICES value.
type Visible struct {
	// All is true when the variable is unset: every device is visible.
	All bool
	// Entries are the identifiers in order: decimal NVML indices or GPU UUIDs
	// (a unique prefix such as "GPU-8932f937" is enough, as for CUDA).
	Entries []string
}

// VisibleFromEnv reads CUDA_VISIBLE_DEVICES from the process environment.
func VisibleFromEnv() Visible {
	v, ok := envconfig.CUDAVisibleDevices()
	return ParseVisible(v, ok)
}

// ParseVisible parses a CUDA_VISIBLE_DEVICES value; set reports whether the
// variable exists at all. Unset means all devices; set but empty means none
// (CUDA hides every device then), and so does "-1".
func ParseVisible(v string, set bool) Visible {
	if !set {
		return Visible{All: true}
	}
	var out Visible
	for _, e := range strings.Split(v, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			// CUDA stops at the first entry it cannot use.
			break
		}
		out.Entries = append(out.Entries, e)
	}
	return out
}

// String renders the value as it would be written in the environment.
func (v Visible) String() string {
	if v.All {
		return "(unset: all devices)"
	}
	return strings.Join(v.Entries, ",")
}

// Resolve maps the visible list onto NVML indices, given the UUID of every
// NVML device in NVML order. It follows CUDA: devices are enumerated in the
// order listed and the list ends at the first invalid entry (an index out of
// range, a negative number such as -1, an unknown or ambiguous UUID prefix, a
// MIG identifier, which reel does not place on). A device listed twice also
// ends the list, so a pin can never count one device twice.
//
// NVML numbers devices in PCI bus order; CUDA does too only with
// CUDA_DEVICE_ORDER=PCI_BUS_ID, which is the setting reel assumes (and the
// one nvidia-smi shows).
func (v Visible) Resolve(uuids []string) []int {
	if v.All {
		out := make([]int, len(uuids))
		for i := range out {
			out[i] = i
		}
		return out
	}
	seen := make(map[int]bool)
	var out []int
	for _, e := range v.Entries {
		i := resolveEntry(e, uuids)
		if i < 0 || seen[i] {
			break
		}
		seen[i] = true
		out = append(out, i)
	}
	return out
}

// resolveEntry returns the NVML index an entry names, or -1.
func resolveEntry(e string, uuids []string) int {
	if n, err := strconv.Atoi(e); err == nil {
		if n < 0 || n >= len(uuids) {
			return -1
		}
		return n
	}
	if !strings.HasPrefix(strings.ToUpper(e), "GPU-") {
		return -1
	}
	match := -1
	for i, u := range uuids {
		if len(e) <= len(u) && strings.EqualFold(u[:len(e)], e) {
			if match >= 0 {
				return -1 // ambiguous prefix
			}
			match = i
		}
	}
	return match
}
