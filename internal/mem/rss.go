package mem

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// RSS is a process's resident memory in bytes: Current (VmRSS) and Peak
// (VmHWM, the high-water mark since start or the last reset).
type RSS struct {
	Current int64 `json:"current" msgpack:"current"`
	Peak    int64 `json:"peak" msgpack:"peak"`
}

// ReadRSS reads this process's VmRSS and VmHWM from /proc/self/status.
func ReadRSS() (RSS, error) { return readRSS("/proc/self/status") }

func readRSS(path string) (RSS, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return RSS{}, fmt.Errorf("mem: read rss: %w", err)
	}
	var r RSS
	var haveRSS, haveHWM bool
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch k {
		case "VmRSS":
			r.Current, err = kBytes(v)
			haveRSS = err == nil
		case "VmHWM":
			r.Peak, err = kBytes(v)
			haveHWM = err == nil
		}
		if err != nil {
			return RSS{}, fmt.Errorf("mem: %s: %s: %w", path, k, err)
		}
	}
	if !haveRSS || !haveHWM {
		return RSS{}, fmt.Errorf("mem: %s: no VmRSS/VmHWM lines", path)
	}
	return r, nil
}

// kBytes parses a /proc "1234 kB" value into bytes.
func kBytes(v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
	if err != nil {
		return 0, err
	}
	return n * KiB, nil
}
