package mem

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestReadRSSFile(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    RSS
		wantErr bool
	}{
		{"both", "Name:\treel\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t7\n", RSS{Current: 100 * MiB, Peak: 200 * MiB}, false},
		{"no HWM", "VmRSS:\t 1 kB\n", RSS{}, true},
		{"garbage value", "VmRSS:\t x kB\nVmHWM:\t 1 kB\n", RSS{}, true},
		{"empty", "", RSS{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "status")
			if err := os.WriteFile(p, []byte(tt.status), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := readRSS(p)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("readRSS = %+v, %v; want %+v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestReadRSSSeesAllocation: touching 64 MiB raises the current and peak
// RSS of this very process by about that much. Freed heap is returned to
// the OS first: pages an earlier test left resident (an engine it loaded
// and dropped) would otherwise be reused without raising RSS.
func TestReadRSSSeesAllocation(t *testing.T) {
	debug.FreeOSMemory()
	before, err := ReadRSS()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64*MiB)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	after, err := ReadRSS()
	if err != nil {
		t.Fatal(err)
	}
	if grew := after.Current - before.Current; grew < 60*MiB {
		t.Errorf("VmRSS grew by %s after touching 64 MiB", FormatSize(grew))
	}
	if after.Peak < after.Current || after.Peak < before.Peak {
		t.Errorf("VmHWM %s below VmRSS %s or the earlier peak %s", FormatSize(after.Peak), FormatSize(after.Current), FormatSize(before.Peak))
	}
	runtime.KeepAlive(buf)
}
