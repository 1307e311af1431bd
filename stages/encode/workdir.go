package encode

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// workPrefix names the temporary directories of the encode process pid:
// reel-encode-<pid>-<job>-<random>. The pid lets a restarted process tell
// the leftovers of a killed one from those of a live one sharing WorkDir.
func workPrefix(pid int) string { return "reel-encode-" + strconv.Itoa(pid) + "-" }

// removeStale deletes the temporary directories that encode processes no
// longer running left in dir (kill -9 skips the deferred clean-up).
func removeStale(dir string) {
	matches, _ := filepath.Glob(filepath.Join(dir, "reel-encode-*"))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), "reel-encode-")
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err == nil && pid > 0 && alive(pid) {
			continue
		}
		_ = os.RemoveAll(m)
	}
}

// alive reports whether a process with pid exists (EPERM: it exists but
// belongs to someone else).
func alive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
