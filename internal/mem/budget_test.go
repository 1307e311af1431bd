package mem

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSystem writes files under a temp root: paths relative to it, e.g.
// "cgroup/memory.max", "proc/cgroup", "proc/meminfo".
func fakeSystem(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const meminfo16G = "MemTotal:       16777216 kB\nMemFree:         1000000 kB\n"

func TestDetectBudget(t *testing.T) {
	noGoLimit := func() int64 { return math.MaxInt64 }
	tests := []struct {
		name       string
		files      map[string]string
		flag       string
		goMemLimit func() int64
		want       int64
		wantSource string
		wantErr    error
	}{
		{
			name:  "flag wins",
			files: map[string]string{"proc/meminfo": meminfo16G, "cgroup/memory.max": "1073741824\n"},
			flag:  "8GiB", want: 8 * GiB, wantSource: "--mem-budget",
		},
		{
			name:  "bad flag",
			files: map[string]string{"proc/meminfo": meminfo16G},
			flag:  "eight", wantErr: ErrSize,
		},
		{
			name:  "physical only",
			files: map[string]string{"proc/meminfo": meminfo16G},
			want:  16 * GiB, wantSource: "physical memory",
		},
		{
			name:  "cgroup v2 in a namespace: limit at the root",
			files: map[string]string{"proc/meminfo": meminfo16G, "proc/cgroup": "0::/\n", "cgroup/memory.max": "2147483648\n"},
			want:  2 * GiB, wantSource: "cgroup v2 memory.max",
		},
		{
			name:  "cgroup v2 max means none",
			files: map[string]string{"proc/meminfo": meminfo16G, "proc/cgroup": "0::/\n", "cgroup/memory.max": "max\n"},
			want:  16 * GiB, wantSource: "physical memory",
		},
		{
			name: "cgroup v2 nested: the tightest ancestor counts",
			files: map[string]string{
				"proc/meminfo": meminfo16G,
				"proc/cgroup":  "0::/reel.slice/stage.scope\n",
				"cgroup/reel.slice/stage.scope/memory.max": "max\n",
				"cgroup/reel.slice/memory.max":             "3221225472\n",
				"cgroup/memory.max":                        "max\n",
			},
			want: 3 * GiB, wantSource: "reel.slice/memory.max",
		},
		{
			name: "cgroup v2 nested: own limit tighter",
			files: map[string]string{
				"proc/meminfo": meminfo16G,
				"proc/cgroup":  "0::/reel.slice/stage.scope\n",
				"cgroup/reel.slice/stage.scope/memory.max": "1073741824\n",
				"cgroup/reel.slice/memory.max":             "3221225472\n",
			},
			want: GiB, wantSource: "stage.scope/memory.max",
		},
		{
			name: "cgroup v1 (hybrid host): memory controller path",
			files: map[string]string{
				"proc/meminfo": meminfo16G,
				"proc/cgroup":  "12:pids:/\n4:memory:/process_api/abc\n0::/\n",
				"cgroup/memory/process_api/abc/memory.limit_in_bytes": "4294967296\n",
				"cgroup/memory/memory.limit_in_bytes":                 "9223372036854771712\n",
			},
			want: 4 * GiB, wantSource: "cgroup v1",
		},
		{
			name: "cgroup v1 unlimited",
			files: map[string]string{
				"proc/meminfo": meminfo16G,
				"proc/cgroup":  "4:memory:/process_api/abc\n",
				"cgroup/memory/process_api/abc/memory.limit_in_bytes": "9223372036854771712\n",
			},
			want: 16 * GiB, wantSource: "physical memory",
		},
		{
			name: "cgroup v1 in a container: host path absent, own limit at the mount root",
			files: map[string]string{
				"proc/meminfo":                        meminfo16G,
				"proc/cgroup":                         "9:memory,kmem:/docker/0123abcd\n",
				"cgroup/memory/memory.limit_in_bytes": "536870912\n",
			},
			want: 512 * MiB, wantSource: "cgroup v1",
		},
		{
			name:  "limit above physical memory: physical wins",
			files: map[string]string{"proc/meminfo": meminfo16G, "proc/cgroup": "0::/\n", "cgroup/memory.max": "68719476736\n"},
			want:  16 * GiB, wantSource: "physical memory",
		},
		{
			name:       "GOMEMLIMIT below the cgroup limit",
			files:      map[string]string{"proc/meminfo": meminfo16G, "proc/cgroup": "0::/\n", "cgroup/memory.max": "2147483648\n"},
			goMemLimit: func() int64 { return GiB },
			want:       GiB, wantSource: "GOMEMLIMIT",
		},
		{
			name:       "GOMEMLIMIT above the cgroup limit",
			files:      map[string]string{"proc/meminfo": meminfo16G, "proc/cgroup": "0::/\n", "cgroup/memory.max": "2147483648\n"},
			goMemLimit: func() int64 { return 4 * GiB },
			want:       2 * GiB, wantSource: "cgroup v2",
		},
		{
			name:    "no meminfo",
			files:   map[string]string{"proc/cgroup": "0::/\n"},
			wantErr: os.ErrNotExist,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeSystem(t, tt.files)
			gl := tt.goMemLimit
			if gl == nil {
				gl = noGoLimit
			}
			b, err := DetectBudget(Sources{
				Flag:       tt.flag,
				CgroupRoot: filepath.Join(root, "cgroup"),
				ProcCgroup: filepath.Join(root, "proc/cgroup"),
				Meminfo:    filepath.Join(root, "proc/meminfo"),
				GoMemLimit: gl,
			})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.Bytes != tt.want || !strings.Contains(b.Source, tt.wantSource) {
				t.Errorf("budget = %v, want %s from %q", b, FormatSize(tt.want), tt.wantSource)
			}
		})
	}
}

// TestDetectBudgetHere reads the real system: the budget is positive and no
// more than physical memory.
func TestDetectBudgetHere(t *testing.T) {
	b, err := DetectBudget(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	phys, err := memTotal("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	if b.Bytes <= 0 || b.Bytes > phys {
		t.Errorf("budget %v, physical %s", b, FormatSize(phys))
	}
	t.Logf("this machine: %v", b)
}

func TestGPUBudget(t *testing.T) {
	const total = 80 * uint64(GiB)
	tests := []struct {
		flag       string
		free       uint64
		want       int64
		wantSource string
		wantErr    bool
	}{
		{"", 50 * uint64(GiB), 50 * GiB, "GPU free memory", false},
		{"20GiB", 50 * uint64(GiB), 20 * GiB, "--gpu-mem-budget", false},
		{"200GiB", 50 * uint64(GiB), 80 * GiB, "capped", false},
		{"lots", 0, 0, "", true},
	}
	for _, tt := range tests {
		b, err := GPUBudget(tt.flag, tt.free, total)
		if tt.wantErr {
			if !errors.Is(err, ErrSize) {
				t.Errorf("GPUBudget(%q) err = %v, want ErrSize", tt.flag, err)
			}
			continue
		}
		if err != nil || b.Bytes != tt.want || !strings.Contains(b.Source, tt.wantSource) {
			t.Errorf("GPUBudget(%q, %d) = %v, %v; want %s (%s)", tt.flag, tt.free, b, err, FormatSize(tt.want), tt.wantSource)
		}
	}
}
