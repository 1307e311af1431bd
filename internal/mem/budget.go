package mem

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// Budget is how many bytes a process (or a GPU) may use, and why.
type Budget struct {
	Bytes  int64  `json:"bytes" msgpack:"bytes"`
	Source string `json:"source" msgpack:"source"`
}

func (b Budget) String() string { return FormatSize(b.Bytes) + " (" + b.Source + ")" }

// Sources says where DetectBudget looks. The zero value reads the running
// system; tests point the paths at files in t.TempDir().
type Sources struct {
	// Flag is the --mem-budget value; empty means detect.
	Flag string
	// CgroupRoot is where cgroupfs is mounted ("/sys/fs/cgroup").
	CgroupRoot string
	// ProcCgroup is the process's cgroup membership ("/proc/self/cgroup").
	ProcCgroup string
	// Meminfo is "/proc/meminfo".
	Meminfo string
	// GoMemLimit returns the Go runtime's memory limit (math.MaxInt64 when
	// none); nil means debug.SetMemoryLimit(-1), which reads GOMEMLIMIT as
	// the runtime applied it.
	GoMemLimit func() int64
}

func (s Sources) withDefaults() Sources {
	if s.CgroupRoot == "" {
		s.CgroupRoot = "/sys/fs/cgroup"
	}
	if s.ProcCgroup == "" {
		s.ProcCgroup = "/proc/self/cgroup"
	}
	if s.Meminfo == "" {
		s.Meminfo = "/proc/meminfo"
	}
	if s.GoMemLimit == nil {
		s.GoMemLimit = func() int64 { return debug.SetMemoryLimit(-1) }
	}
	return s
}

// DetectBudget returns the process's memory budget. --mem-budget wins when
// given (the operator may know better, e.g. to leave room for a neighbour).
// Otherwise it is the smallest of the limits that apply: the cgroup limit
// (v2 memory.max, else v1 memory.limit_in_bytes, the tightest along the
// process's cgroup path, since any ancestor's limit can trigger the OOM
// killer), GOMEMLIMIT, and physical memory (MemTotal).
func DetectBudget(src Sources) (Budget, error) {
	src = src.withDefaults()
	if src.Flag != "" {
		n, err := ParseSize(src.Flag)
		if err != nil {
			return Budget{}, fmt.Errorf("--mem-budget: %w", err)
		}
		return Budget{Bytes: n, Source: "--mem-budget"}, nil
	}
	phys, err := memTotal(src.Meminfo)
	if err != nil {
		return Budget{}, err
	}
	best := Budget{Bytes: phys, Source: "physical memory (MemTotal)"}
	if cg, ok := cgroupLimit(src.CgroupRoot, src.ProcCgroup); ok && cg.Bytes < best.Bytes {
		best = cg
	}
	if gl := src.GoMemLimit(); gl > 0 && gl < math.MaxInt64 && gl < best.Bytes {
		best = Budget{Bytes: gl, Source: "GOMEMLIMIT"}
	}
	return best, nil
}

// memTotal reads MemTotal from /proc/meminfo.
func memTotal(p string) (int64, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, fmt.Errorf("mem: physical memory: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			n, err := kBytes(v)
			if err != nil {
				return 0, fmt.Errorf("mem: %s: MemTotal: %w", p, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("mem: %s: no MemTotal line", p)
}

// unlimitedV1 is where cgroup v1 "no limit" starts: the kernel reports
// PAGE_COUNTER_MAX pages (9223372036854771712 on 4 KiB pages), so anything
// at or above 2^62 means unlimited.
const unlimitedV1 = int64(1) << 62

// cgroupLimit finds the tightest memory limit on the process's cgroup path,
// trying v2 first, then v1. In a container with its own cgroup namespace the
// path is "/" and the container's limit sits at the root of the mount; on a
// host (or v1 without a namespace) it is nested, and ancestors count too.
func cgroupLimit(root, procCgroup string) (Budget, bool) {
	v2, v1 := cgroupPaths(procCgroup)
	if b, ok := walkLimit(root, v2, "memory.max", "cgroup v2 memory.max"); ok {
		return b, true
	}
	return walkLimit(filepath.Join(root, "memory"), v1, "memory.limit_in_bytes", "cgroup v1 memory.limit_in_bytes")
}

// cgroupPaths reads /proc/self/cgroup ("id:controllers:path" lines) and
// returns the unified (v2) path and the v1 memory controller's path; "/"
// when absent or unreadable, so the mount root is still tried.
func cgroupPaths(p string) (v2, v1 string) {
	v2, v1 = "/", "/"
	b, err := os.ReadFile(p)
	if err != nil {
		return v2, v1
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		case hasController(parts[1], "memory"):
			v1 = parts[2]
		}
	}
	return v2, v1
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// walkLimit reads file in dir root/p and each ancestor up to root, keeping
// the smallest limit. Directories that do not exist (the path as the host
// sees it, inside a container that mounts only its own cgroup) are skipped.
func walkLimit(root, p, file, what string) (Budget, bool) {
	best := Budget{Bytes: math.MaxInt64}
	found := false
	for p = path.Clean("/" + p); ; p = path.Dir(p) {
		f := filepath.Join(root, p, file)
		if n, err := readLimit(f); err == nil {
			if n < best.Bytes {
				best = Budget{Bytes: n, Source: what + " (" + f + ")"}
				found = true
			}
		}
		if p == "/" {
			break
		}
	}
	return best, found
}

// errNoLimit marks a limit file that says "no limit".
var errNoLimit = errors.New("no limit")

// readLimit reads a cgroup limit file: "max" (v2) or a huge number (v1)
// mean no limit.
func readLimit(f string) (int64, error) {
	b, err := os.ReadFile(f)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, errNoLimit
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("mem: %s: %w", f, err)
	}
	if n <= 0 || n >= unlimitedV1 {
		return 0, errNoLimit
	}
	return n, nil
}

// GPUBudget is the budget on the pinned GPU: --gpu-mem-budget when given
// (capped at the device's total), else the memory free on the device now,
// since other processes' allocations are not ours to use.
func GPUBudget(flag string, free, total uint64) (Budget, error) {
	if flag != "" {
		n, err := ParseSize(flag)
		if err != nil {
			return Budget{}, fmt.Errorf("--gpu-mem-budget: %w", err)
		}
		if total > 0 && uint64(n) > total {
			return Budget{Bytes: int64(total), Source: "--gpu-mem-budget, capped at the device total"}, nil
		}
		return Budget{Bytes: n, Source: "--gpu-mem-budget"}, nil
	}
	return Budget{Bytes: int64(min(free, math.MaxInt64)), Source: fmt.Sprintf("GPU free memory (of %s)", FormatSize(int64(min(total, math.MaxInt64))))}, nil
}
