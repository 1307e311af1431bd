package gpu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/reel-video/reel/internal/envconfig"
)

// probeEnv selects what this test binary does when re-executed as a probe
// child, so the failure paths are real processes that really crash.
const probeEnv = envconfig.GPUProbeTest

func TestMain(m *testing.M) {
	if b := envconfig.String(probeEnv); b != "" {
		os.Exit(probeChild(b))
	}
	os.Exit(m.Run())
}

// probeChild is the child's behaviour; its return value is the exit code.
func probeChild(behaviour string) int {
	ctx := context.Background()
	switch behaviour {
	case "good":
		if err := RunProbe(ctx, fill(dgxh100.New()), Visible{All: true}, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	case "nogpu":
		b := fill(dgxh100.New())
		b.InitFunc = func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }
		if err := RunProbe(ctx, b, Visible{All: true}, os.Stdout); err != nil {
			return 1
		}
	case "segfault":
		// What a fault inside libnvidia-ml does to the process: a signal Go
		// cannot recover from.
		fmt.Fprintln(os.Stderr, "nvml: about to fault")
		_ = syscall.Kill(os.Getpid(), syscall.SIGSEGV)
		time.Sleep(time.Minute)
	case "hang":
		fmt.Fprintln(os.Stderr, "nvml: waiting on the driver")
		time.Sleep(time.Hour)
	case "garbage":
		fmt.Println("this is not JSON")
	case "empty":
		fmt.Println("{}")
	default:
		fmt.Fprintln(os.Stderr, "unknown behaviour", behaviour)
		return 3
	}
	return 0
}

// childProbe re-executes this test binary with the given behaviour.
func childProbe(t *testing.T, behaviour string, timeout time.Duration) ProbeFunc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Child{Path: exe, Args: []string{"-test.run=^$"}, Env: append(os.Environ(), probeEnv+"="+behaviour), Timeout: timeout}.Probe
}

// A probe child that crashes, hangs, or prints garbage gives the CPU with a
// note saying discovery failed and why; NVML is never loaded in process.
func TestBrokenProbeGivesCPU(t *testing.T) {
	tests := []struct {
		behaviour string
		want      []string
	}{
		{"segfault", []string{"GPU discovery failed", "exit status 2", "SIGSEGV", "using the CPU engine"}},
		{"hang", []string{"GPU discovery failed", "did not finish within 2s", "waiting on the driver"}},
		{"garbage", []string{"GPU discovery failed", "not a probe result", "this is not JSON"}},
		{"empty", []string{"GPU discovery failed", "want devices or no_gpu"}},
		{"unknown", []string{"GPU discovery failed", "exit status 3", "unknown behaviour"}},
	}
	for _, tt := range tests {
		t.Run(tt.behaviour, func(t *testing.T) {
			b := newH100(t)
			inits := 0
			b.InitFunc = func() nvml.Return { inits++; return nvml.SUCCESS }
			// Generous for a child that exits (a race-enabled test binary on a
			// busy machine starts slowly), short for the one that hangs.
			timeout := time.Minute
			if tt.behaviour == "hang" {
				timeout = 2 * time.Second
			}
			start := time.Now()
			p, err := Place(t.Context(), Config{Lib: b, Visible: Visible{All: true}, GPU: AutoGPU, Probe: childProbe(t, tt.behaviour, timeout)})
			if err != nil {
				t.Fatal(err)
			}
			if p.OnGPU() || p.Label() != "cpu" || inits != 0 {
				t.Fatalf("placement %s, NVML Init called %d times; want the CPU and no Init", p.Label(), inits)
			}
			if !errors.Is(p.Reason, ErrDiscovery) || !errors.Is(p.Reason, ErrNoGPU) {
				t.Errorf("Reason = %v; want ErrDiscovery and ErrNoGPU", p.Reason)
			}
			for _, s := range tt.want {
				if !strings.Contains(p.Note, s) {
					t.Errorf("Note lacks %q: %s", s, p.Note)
				}
			}
			t.Log(p.Note)
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("probe took %s", d)
			}
		})
	}
}

// A good child, here discovering through the mock in its own process, lets
// Place go on to open NVML in process and pin.
func TestGoodProbeProceeds(t *testing.T) {
	res, err := childProbe(t, "good", 0)(t.Context())
	if err != nil || len(res.Devices) != 8 || res.Devices[3].Memory.Used != 4*gib || res.NoGPU != "" {
		t.Fatalf("probe = %+v, %v; want 8 devices", res, err)
	}
	b := newH100(t)
	p, err := Place(t.Context(), Config{Lib: b, Visible: Visible{All: true}, GPU: 2, Probe: childProbe(t, "good", 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if !p.OnGPU() || p.Index() != 2 || !strings.Contains(p.Note, b.devs[2].UUID) {
		t.Errorf("placement %s, note %q; want GPU 2", p.Label(), p.Note)
	}
}

// A probe that finds no GPU gives the plain no-GPU line, keeps the child's
// reason, and does not load NVML here.
func TestNoGPUProbe(t *testing.T) {
	b := newH100(t)
	b.InitFunc = func() nvml.Return { t.Error("NVML initialised in process"); return nvml.SUCCESS }
	p, err := Place(t.Context(), Config{Lib: b, Probe: childProbe(t, "nogpu", 0)})
	if err != nil {
		t.Fatal(err)
	}
	if p.OnGPU() || p.Note != NoGPUMessage || !errors.Is(p.Reason, ErrNoGPU) || errors.Is(p.Reason, ErrDiscovery) ||
		!strings.Contains(p.Reason.Error(), "libnvidia-ml.so.1 not found") || !strings.HasPrefix(p.Reason.Error(), "no NVIDIA GPU found (") {
		t.Errorf("placement %s, note %q, reason %v", p.Label(), p.Note, p.Reason)
	}
}

// Cancelling the stage during the probe is the caller's error, not a CPU
// placement.
func TestProbeCancelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := Place(ctx, Config{Lib: newH100(t), Probe: childProbe(t, "hang", time.Minute)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's", err)
	}
}

func TestParseProbe(t *testing.T) {
	if res, err := parseProbe([]byte("driver warning\n{\"no_gpu\":\"no NVIDIA GPU found\"}\n")); err != nil || res.NoGPU == "" {
		t.Errorf("warning line first: %+v, %v", res, err)
	}
	for _, out := range []string{"", "null", "[]", `{"devices":[]}`, `{"no_gpu":"x"} trailing`} {
		if _, err := parseProbe([]byte(out)); err == nil {
			t.Errorf("%q parsed", out)
		}
	}
	if got := noGPUError("something else").Error(); got != "no NVIDIA GPU found: something else" {
		t.Errorf("noGPUError = %q", got)
	}
}

func TestStderrSummary(t *testing.T) {
	st := &tail{max: 64}
	fmt.Fprintln(st, "nvml: loading")
	fmt.Fprintln(st, "SIGSEGV: segmentation violation")
	for i := range 100 {
		fmt.Fprintf(st, "frame %d\n", i)
	}
	if got := st.summary(); got != "; stderr: nvml: loading | SIGSEGV: segmentation violation" {
		t.Errorf("crash summary = %q", got)
	}
	st = &tail{max: 1 << 10}
	for i := range 5 {
		fmt.Fprintf(st, "line %d\n", i)
	}
	if got := st.summary(); got != "; stderr: line 2 | line 3 | line 4" {
		t.Errorf("summary = %q", got)
	}
	if s := (&tail{max: 64}).summary(); s != "" {
		t.Errorf("empty summary = %q", s)
	}
}
