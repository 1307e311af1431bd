package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/envconfig"
	"github.com/reel-video/reel/model/weights"
	torchsrc "github.com/reel-video/reel/runner/torch"
)

// DefaultCacheDir is where WriteEmbeddedWeights and TorchCommand put files
// when given no directory: $XDG_CACHE_HOME/reel/runner (or the OS
// equivalent), else a per-user directory under the temp dir.
func DefaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "reel", "runner")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("reel-runner-%d", os.Getuid()))
}

// WriteEmbeddedWeights writes the checkpoints built into the binary
// (package model/weights) into dir ("" means DefaultCacheDir) as
// sha256-<hex>.safetensors and returns their paths by role ("dit", "text",
// "vae"), ready for Config.Weights. Files are content-addressed and written
// by atomic rename, so concurrent stages share them and a crash never
// leaves a partial file under the final name.
func WriteEmbeddedWeights(dir string) (map[string]string, error) {
	if dir == "" {
		dir = DefaultCacheDir()
	}
	out := map[string]string{}
	for role, b := range map[protocol.Model][]byte{protocol.ModelDiT: weights.DiT(), protocol.ModelText: weights.Text(), protocol.ModelVAE: weights.VAE()} {
		sum := sha256.Sum256(b)
		p, err := writeOnce(dir, "sha256-"+hex.EncodeToString(sum[:])+".safetensors", b)
		if err != nil {
			return nil, err
		}
		out[string(role)] = p
	}
	return out, nil
}

// writeOnce writes b to dir/name unless a file of that name and size is
// there already (the name carries the content's hash).
func writeOnce(dir, name string, b []byte) (string, error) {
	p := filepath.Join(dir, name)
	if st, err := os.Stat(p); err == nil && st.Size() == int64(len(b)) {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("runner: cache: %w", err)
	}
	f, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("runner: cache: %w", err)
	}
	_, werr := f.Write(b)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), p)
	}
	if werr != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("runner: cache: write %s: %w", p, werr)
	}
	return p, nil
}

// TorchOptions select how the bundled PyTorch runner is started.
type TorchOptions struct {
	Python   string // interpreter; "" means envconfig.PythonInterpreter ($REEL_PYTHON, else python3)
	Device   string // "cpu" or "cuda:N"; "" means "cpu"
	Threads  int    // CPU threads for torch; 0 leaves torch's default
	CacheDir string // where the scripts are written; "" means DefaultCacheDir
}

// TorchCommand writes the bundled runner's Python sources (package
// runner/torch) to a content-addressed directory under the cache dir and
// returns the command line that runs them, for Config.Command.
func TorchCommand(o TorchOptions) ([]string, error) {
	python := o.Python
	if python == "" {
		python = envconfig.PythonInterpreter()
	}
	device := o.Device
	if device == "" {
		device = "cpu"
	}
	cache := o.CacheDir
	if cache == "" {
		cache = DefaultCacheDir()
	}
	src := torchsrc.Sources()
	names, err := fs.Glob(src, "*.py")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	files := make(map[string][]byte, len(names))
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(src, n)
		if err != nil {
			return nil, err
		}
		files[n] = b
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	dir := filepath.Join(cache, "torch-"+hex.EncodeToString(h.Sum(nil))[:16])
	for _, n := range names {
		if _, err := writeOnce(dir, n, files[n]); err != nil {
			return nil, err
		}
	}
	cmd := []string{python, filepath.Join(dir, torchsrc.Entry), "--device", device}
	if o.Threads > 0 {
		cmd = append(cmd, "--threads", fmt.Sprint(o.Threads))
	}
	return cmd, nil
}
