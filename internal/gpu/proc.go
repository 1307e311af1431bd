package gpu

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// processName reads /proc/<pid>/comm. NVML reports host PIDs, so inside a
// container the lookup may fail or, rarely, name an unrelated process of the
// same number; reel only displays the name, it never acts on it.
func processName(pid uint32) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.FormatUint(uint64(pid), 10), "comm"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
