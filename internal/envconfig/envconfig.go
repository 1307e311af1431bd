// Package envconfig declares every environment variable reel reads, once:
// its name, default, description and who reads it (Vars, which `reel env`
// prints and the README's table mirrors), and a typed accessor for each
// that reads the process environment at call time (there is no cached
// state, so a test's t.Setenv is seen at once). The idea is ollama's
// envconfig.
//
// Nothing else in reel calls os.Getenv or os.LookupEnv (internal/arch
// checks); variables reel only passes to child processes are named here
// too. It links no NATS.
package envconfig

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Variable names.
const (
	NATS           = "REEL_NATS"
	DiT            = "REEL_DIT"
	TextEncoder    = "REEL_TEXT_ENCODER"
	VAE            = "REEL_VAE"
	XDGDataHome    = "XDG_DATA_HOME"
	CUDAVisible    = "CUDA_VISIBLE_DEVICES"
	GoMemLimitVar  = "GOMEMLIMIT"
	Python         = "REEL_PYTHON"
	NATSUser       = "REEL_NATS_USER"
	Client         = "REEL_CLIENT"
	NATSPassword   = "REEL_NATS_PASSWORD"
	ServerPassword = "REEL_SERVER_PASSWORD"
	NATSToken      = "REEL_NATS_TOKEN"
	NATSCreds      = "REEL_NATS_CREDS"
	NATSNKey       = "REEL_NATS_NKEY"
	APIKeys        = "REEL_API_KEYS"
	Metrics        = "REEL_METRICS"

	// Read by tests only.
	TestLog           = "REEL_TEST_LOG"
	VideoRequireTools = "REEL_VIDEO_REQUIRE_TOOLS"
	Chromium          = "REEL_CHROMIUM"
	GPULive           = "REEL_GPU_LIVE"
	MemBench          = "REEL_MEM_BENCH"
	Soak              = "REEL_SOAK"
	SoakJobs          = "REEL_SOAK_JOBS"
	MemDebug          = "REEL_MEM_DEBUG"
	MemSweep          = "REEL_MEM_SWEEP"
	MemSweepList      = "REEL_MEM_SWEEP_LIST"
	LoadJobs          = "REEL_LOAD_JOBS"
	ScreenshotDir     = "REEL_SCREENSHOT_DIR"

	// Set by a test for the child process it re-executes itself as.
	MemChild         = "REEL_MEM_CHILD"
	GPUProbeTest     = "REEL_GPU_PROBE_TEST"
	VideoCrashHelper = "REEL_VIDEO_CRASH_HELPER"
	VideoCrashDir    = "REEL_VIDEO_CRASH_DIR"
	RunnerTestStage  = "REEL_RUNNER_TEST_STAGE"
	DiskFullChild    = "REEL_DISK_FULL_CHILD"
)

// DefaultNATSURL is the server a client or stage reaches when neither
// --nats nor REEL_NATS names one.
const DefaultNATSURL = "nats://127.0.0.1:4222"

// DefaultPython is the interpreter of the bundled PyTorch runner when
// neither --python nor REEL_PYTHON names one.
const DefaultPython = "python3"

// DefaultLoadJobs is the load test's job count without REEL_LOAD_JOBS.
const DefaultLoadJobs = 200

// Scope says who reads a variable.
type Scope string

// Scopes.
const (
	Runtime Scope = "runtime" // the reel command
	Test    Scope = "test"    // the test suite only
	Child   Scope = "child"   // set by a test for its own child process
)

// Var is one declared environment variable.
type Var struct {
	Name    string
	Default string // as shown to users; "" = none
	UsedBy  string // the commands or tests that read it
	Help    string
	Scope   Scope
}

// Vars lists every variable reel reads, runtime ones first, in the order
// `reel env` prints them.
func Vars() []Var {
	return []Var{
		{NATS, DefaultNATSURL, "every client and stage command", "default --nats URL(s), comma-separated", Runtime},
		{DiT, "built-in FP8 DiT", "generate, server, stage", "default --dit: a DiT safetensors file", Runtime},
		{TextEncoder, "built in", "generate, server, stage", "default --text-encoder: text encoder safetensors", Runtime},
		{VAE, "built in", "generate, server, stage", "default --vae: VAE decoder safetensors", Runtime},
		{XDGDataHome, "~/.local/share", "generate, server", "default data directory $XDG_DATA_HOME/reel (an absolute path; else ignored)", Runtime},
		{CUDAVisible, "all devices", "stage, gpus", "which GPUs a stage may see; --gpu N indexes the visible ones", Runtime},
		{GoMemLimitVar, "none", "every process", "Go memory limit; also caps the default --mem-budget; when set, a vaedecode process keeps it instead of sizing its own", Runtime},
		{Python, DefaultPython, "generate, server, stage", "default --python: the interpreter of the PyTorch runner (--engine torch)", Runtime},
		{NATSUser, "none", "every client and stage command", "default --nats-user (credentials stay off the command line)", Runtime},
		{Client, "none", "submit, status, watch, get, cancel", "default --client: act as that user of the client role, through the client API", Runtime},
		{NATSPassword, "none", "every client and stage command", "the NATS password, instead of --nats-password (visible in ps); --nats-password-file wins", Runtime},
		{ServerPassword, "none", "reel server", "the embedded server's password, instead of --password (visible in ps); --password-file wins", Runtime},
		{NATSToken, "none", "every client and stage command", "default --nats-token", Runtime},
		{NATSCreds, "none", "every client and stage command", "default --nats-creds: a NATS credentials file", Runtime},
		{NATSNKey, "none", "every client and stage command", "default --nats-nkey: an NKey seed file", Runtime},
		{APIKeys, "none", "server, gateway", "accepted API keys, comma-separated (docs/api.md); with none the API only listens on loopback", Runtime},
		{Metrics, "off", "server, gateway, stage", "default --metrics: the address of /metrics, /healthz and /readyz", Runtime},
		{TestLog, "off", "tests", "1: tests log through t.Log instead of staying silent", Test},
		{VideoRequireTools, "off", "tests", "1: a missing tool (ffmpeg, ffprobe, chromium, torch, the Node client's modules) fails its tests instead of skipping them (CI sets it)", Test},
		{Chromium, "/usr/bin/chromium, then chromium or chromium-browser on PATH", "tests", "the browser binary for the playback and web UI tests", Test},
		{GPULive, "off", "tests", "1: run the NVML test against the real driver", Test},
		{MemBench, "off", "tests", "1: run the VAE memory benchmark (BENCHMARKS.md)", Test},
		{Soak, "off", "tests", "1: run the chaos soak on a 3-node cluster (docs/reliability.md)", Test},
		{SoakJobs, "100", "tests", "jobs in the chaos soak", Test},
		{MemDebug, "off", "tests", "1: the memory-measuring child prints Go heap statistics", Test},
		{MemSweep, "off", "tests", "1: run the memory calibration sweep over REEL_MEM_SWEEP_LIST", Test},
		{MemSweepList, "none", "tests", "workloads of the calibration sweep, space-separated", Test},
		{LoadJobs, strconv.Itoa(DefaultLoadJobs), "tests", "jobs in the load test (-short: 40)", Test},
		{ScreenshotDir, "a temporary directory", "tests", "where the web UI test saves reel-ui.png", Test},
		{MemChild, "", "internal/mem tests", "the workload a re-executed memory-measuring child runs", Child},
		{GPUProbeTest, "", "internal/gpu tests", "the behaviour of a re-executed GPU probe child", Child},
		{VideoCrashHelper, "", "stages/encode/video tests", "1: the re-executed child crashes mid-encode", Child},
		{VideoCrashDir, "", "stages/encode/video tests", "where the crashing child writes", Child},
		{RunnerTestStage, "", "runner tests", "the script a re-executed stage child starts a runner with", Child},
		{DiskFullChild, "", "stages/pipeline tests", "1: the child re-executed in its own mount namespace, on a small tmpfs", Child},
	}
}

// Lookup returns the declaration of name.
func Lookup(name string) (Var, bool) {
	for _, v := range Vars() {
		if v.Name == name {
			return v, true
		}
	}
	return Var{}, false
}

// String is the variable's value, trimmed ("" when unset).
func String(name string) string { return strings.TrimSpace(os.Getenv(name)) }

// Bool is a flag variable: unset or empty is false, a value strconv.ParseBool
// reads ("0", "false") is that, anything else true.
func Bool(name string) bool {
	s := String(name)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	return err != nil || b
}

// Int is an integer variable, or def when unset or not an integer.
func Int(name string, def int) int {
	n, err := strconv.Atoi(String(name))
	if err != nil {
		return def
	}
	return n
}

// Value returns the raw value and whether the variable is set at all (set
// but empty differs from unset for CUDA_VISIBLE_DEVICES).
func Value(name string) (string, bool) { return os.LookupEnv(name) }

// NATSURL is REEL_NATS, else DefaultNATSURL.
func NATSURL() string {
	if u := String(NATS); u != "" {
		return u
	}
	return DefaultNATSURL
}

// PythonInterpreter is REEL_PYTHON, else DefaultPython.
func PythonInterpreter() string {
	if p := String(Python); p != "" {
		return p
	}
	return DefaultPython
}

// DataHome is XDG_DATA_HOME when it is an absolute path, else "".
func DataHome() string {
	if d := String(XDGDataHome); filepath.IsAbs(d) {
		return d
	}
	return ""
}

// CUDAVisibleDevices is CUDA_VISIBLE_DEVICES and whether it is set.
func CUDAVisibleDevices() (string, bool) { return Value(CUDAVisible) }

// GoMemLimitSet reports whether the operator set GOMEMLIMIT.
func GoMemLimitSet() bool {
	_, ok := Value(GoMemLimitVar)
	return ok
}
