package model

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/model/safetensors"
	"github.com/reel-video/reel/model/weights"
)

// Options selects the weights an Engine loads. An empty path means the
// weights built into the binary (package model/weights: FP8 DiT, BF16 text
// encoder and VAE decoder). A DiT file whose block weights are F8_E4M3 (with
// "<name>_scale" rows) runs with FP8 weights; a BF16/F16/F32 one runs in
// float32.
//
// Models are the models to load (nil: all three). A process that serves
// only some stages loads only their models (protocol.StageSpec.Model): a
// VAE-decode worker does not hold the DiT. Of the other files only the
// header is read, for the config they must agree on, and the bytes are
// streamed once into the digest of all three, never held (the built-in
// ones are not read at all: their digest is recorded); the engine's calls
// into a model it did not load fail with ErrNotLoaded.
//
// Width, Height and FPS override the checkpoint's frame size and frame rate
// (zero keeps the checkpoint's: 64×64 at 8 fps for reel-tiny). The same
// weights run at any frame size whose sides are multiples of 16 pixels (the
// VAE's 8× compression times the DiT's 2×2 patch): the DiT is patches plus
// 3-D RoPE and the VAE is convolutional. Quality away from the trained size
// is whatever the model makes of it; the geometry is exact.
type Options struct {
	DiTPath  string
	TextPath string
	VAEPath  string
	Models   []protocol.Model
	Width    int
	Height   int
	FPS      int
}

// Engine is the reel-tiny text-to-video model. It is immutable once loaded
// and safe for concurrent use: every call keeps its own buffers.
type Engine struct {
	cfg      Config // what the engine runs: the checkpoint's with the Options' frame size and fps
	ckpt     Config // as the weight files carry it
	manifest manifestFacts
	fp8      bool // the DiT checkpoint's block weights are FP8, loaded or not
	text     *textEncoder
	dit      *dit
	vae      *vaeDecoder
}

// TextEmbedding is the text encoder's output for one prompt: Hidden
// [TextMaxLen·TextDim] row-major and Mask [TextMaxLen] (true on non-PAD).
// Sample only reads it, so one embedding may serve many Sample calls
// (replays with another seed, step count or guidance).
type TextEmbedding struct {
	Hidden []float32
	Mask   []bool
}

// ErrInput is wrapped by errors about call arguments (sizes, settings).
var ErrInput = errors.New("model: bad input")

// ErrNotLoaded is wrapped by the error of a call into a model the engine
// did not load (Options.Models).
var ErrNotLoaded = errors.New("model: not loaded")

// source yields one checkpoint's bytes and the name used in errors.
type source struct {
	name string
	read func() ([]byte, error)
	// path is a checkpoint file's ("" for the embedded ones): one whose
	// model is not loaded has its header read and its bytes streamed into
	// the digest, not read whole.
	path string
	// builtIn marks the embedded checkpoint (package weights), whose
	// digest is recorded rather than computed.
	builtIn bool
}

func fileSource(path string) source {
	return source{name: path, path: path, read: func() ([]byte, error) { return os.ReadFile(path) }}
}

// open parses the checkpoint: all of it (its bytes returned too) when its
// model is loaded or it is embedded; else only the header of its file,
// where its config and dtypes are (its bytes matter only to the digest,
// which streams them).
func (src source) open(load bool) (*safetensors.File, []byte, error) {
	if src.path != "" && !load {
		f, err := safetensors.ReadHeader(src.path)
		if err != nil {
			return nil, nil, fmt.Errorf("model: load: %w", err)
		}
		return f, nil, nil
	}
	b, err := src.read()
	if err != nil {
		return nil, nil, fmt.Errorf("model: load %s: %w", src.name, err)
	}
	f, err := safetensors.Parse(src.name, b)
	if err != nil {
		return nil, nil, fmt.Errorf("model: load: %w", err)
	}
	return f, b, nil
}

// digestOf is the manifest digest of the three checkpoints: each one's
// bytes as read (raw), or, for a file not read, streamed from it.
func digestOf(srcs [3]source, raw [3][]byte) (string, error) {
	var rs [3]io.Reader
	for i, src := range srcs {
		if raw[i] != nil || src.path == "" {
			rs[i] = bytes.NewReader(raw[i])
			continue
		}
		f, err := os.Open(src.path)
		if err != nil {
			return "", fmt.Errorf("model: digest: %w", err)
		}
		defer f.Close()
		rs[i] = f
	}
	d, err := protocol.WeightsDigestFrom(rs[0], rs[1], rs[2])
	if err != nil {
		return "", fmt.Errorf("model: digest: %w", err)
	}
	return d, nil
}

func pick(path string, embedded source) source {
	if path != "" {
		return fileSource(path)
	}
	return embedded
}

// Load reads the three checkpoints and builds the engine. Configs carried by
// the files must agree; at least one file must carry one.
func Load(opts Options) (*Engine, error) {
	if err := protocol.CheckModels(opts.Models); err != nil {
		return nil, fmt.Errorf("%w: options: %w", ErrInput, err)
	}
	want := func(m protocol.Model) bool { return len(opts.Models) == 0 || slices.Contains(opts.Models, m) }
	emb := embeddedSources()
	return load(opts, want, pick(opts.TextPath, emb.text), pick(opts.DiTPath, emb.dit), pick(opts.VAEPath, emb.vae))
}

// Describe is the manifest of the checkpoint set opts names, as an engine
// loading it would serve it, without loading any of its models (Resident
// and Files are 0; Options.Models is ignored): what a process that serves
// no model stage (a bare `reel server` and its API) checks requests
// against. Of files, only the headers are read and the bytes streamed
// into the digest.
func Describe(opts Options) (protocol.Manifest, error) {
	emb := embeddedSources()
	none := func(protocol.Model) bool { return false }
	e, err := load(opts, none, pick(opts.TextPath, emb.text), pick(opts.DiTPath, emb.dit), pick(opts.VAEPath, emb.vae))
	if err != nil {
		return protocol.Manifest{}, err
	}
	return e.Manifest(), nil
}

// withGeometry applies the Options' frame size and fps to a checkpoint
// config.
func (o Options) withGeometry(c Config) (Config, error) {
	if o.Width < 0 || o.Height < 0 || o.FPS < 0 {
		return Config{}, fmt.Errorf("%w: options: width %d, height %d, fps %d must not be negative", ErrInput, o.Width, o.Height, o.FPS)
	}
	if o.Width > 0 {
		c.Width = o.Width
	}
	if o.Height > 0 {
		c.Height = o.Height
	}
	if o.FPS > 0 {
		c.FPS = o.FPS
	}
	if err := c.validate(); err != nil {
		return Config{}, fmt.Errorf("%w: options: %w", ErrInput, err)
	}
	return c, nil
}

// load builds the engine from the three checkpoints, loading the models
// want says.
func load(opts Options, want func(protocol.Model) bool, textSrc, ditSrc, vaeSrc source) (*Engine, error) {
	var files [3]tensors
	var cfg Config
	haveCfg := false
	var raw [3][]byte
	srcs := [3]source{textSrc, ditSrc, vaeSrc}
	for i, src := range srcs {
		f, b, err := src.open(want(protocol.Models()[i]))
		if err != nil {
			return nil, err
		}
		raw[i] = b
		c, ok, err := fileConfig(src.name, f)
		if err != nil {
			return nil, err
		}
		if ok && haveCfg && !c.equal(cfg) {
			return nil, fmt.Errorf("%w: %s: config differs from the other weight files", ErrConfig, src.name)
		}
		if ok && !haveCfg {
			cfg, haveCfg = c, true
		}
		files[i] = tensors{file: src.name, f: f, kept: new(int64)}
	}
	if !haveCfg {
		return nil, fmt.Errorf("%w: no weight file carries __metadata__.config", ErrConfig)
	}
	run, err := opts.withGeometry(cfg)
	if err != nil {
		return nil, err
	}
	// The digest (one SHA-256 over the three files) and the three models'
	// loads are independent, so they run at once: start-up is most of a
	// short job's fixed cost (reel generate), and loading one model after
	// another kept one core idle for 50-70 ms. The built-in files' digest
	// is recorded (weights.Digest): hashing them made Load take about 25
	// ms instead of 18 (BenchmarkLoad).
	e := &Engine{cfg: run, ckpt: cfg, fp8: fp8Checkpoint(files[1])}
	var wg sync.WaitGroup
	var digest string
	var errs [3]error
	var digestErr error
	if textSrc.builtIn && ditSrc.builtIn && vaeSrc.builtIn {
		digest = weights.Digest()
	} else {
		wg.Go(func() { digest, digestErr = digestOf(srcs, raw) })
	}
	if want(protocol.ModelText) {
		wg.Go(func() { e.text, errs[0] = loadTextEncoder(run, files[0]) })
	}
	if want(protocol.ModelDiT) {
		wg.Go(func() { e.dit, errs[1] = loadDiT(run, files[1]) })
	}
	if want(protocol.ModelVAE) {
		wg.Go(func() { e.vae, errs[2] = loadVAE(run, files[2]) })
	}
	wg.Wait()
	for _, err := range append(errs[:], digestErr) { // the first in file order, as a sequential load would report
		if err != nil {
			return nil, err
		}
	}
	e.manifest = manifestFacts{digest: digest}
	for i, m := range protocol.Models() {
		if want(m) { // a model not loaded occupies nothing, file pages included
			e.manifest.resident[i], e.manifest.fileBytes[i] = *files[i].kept, int64(len(raw[i]))
		}
	}
	return e, nil
}

// Config returns the configuration the engine runs: the checkpoints'
// config with the frame size and fps of its Options.
func (e *Engine) Config() Config { return e.cfg }

// DiTFP8 reports whether the DiT block weights are FP8 (the checkpoint's,
// whether or not the engine loaded the DiT).
func (e *Engine) DiTFP8() bool { return e.fp8 }

// Loaded reports whether the engine loaded model m (Options.Models).
func (e *Engine) Loaded(m protocol.Model) bool {
	switch m {
	case protocol.ModelText:
		return e.text != nil
	case protocol.ModelDiT:
		return e.dit != nil
	case protocol.ModelVAE:
		return e.vae != nil
	}
	return false
}

// need is the error of a call (what) into model m when it is not loaded.
func (e *Engine) need(m protocol.Model, what string) error {
	if e.Loaded(m) {
		return nil
	}
	var have []protocol.Model
	for _, l := range protocol.Models() {
		if e.Loaded(l) {
			have = append(have, l)
		}
	}
	return fmt.Errorf("%w: %s needs the %s model; this engine loaded %v (Options.Models)", ErrNotLoaded, what, m, have)
}

// EncodeText tokenizes and encodes a prompt (use "" for the default
// negative prompt).
func (e *Engine) EncodeText(ctx context.Context, prompt string) (*TextEmbedding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := e.need(protocol.ModelText, "EncodeText"); err != nil {
		return nil, err
	}
	ids, mask := e.cfg.Tokenize(prompt)
	return &TextEmbedding{Hidden: e.text.encode(ids, mask), Mask: mask}, nil
}

func (e *Engine) checkEmbedding(what string, t *TextEmbedding) error {
	if t == nil {
		return fmt.Errorf("%w: %s embedding is nil", ErrInput, what)
	}
	if len(t.Mask) == 0 || len(t.Hidden) != len(t.Mask)*e.cfg.TextDim {
		return fmt.Errorf("%w: %s embedding has %d hidden values for %d tokens of %d", ErrInput, what,
			len(t.Hidden), len(t.Mask), e.cfg.TextDim)
	}
	if !slices.Contains(t.Mask, true) {
		return fmt.Errorf("%w: %s embedding masks every token", ErrInput, what)
	}
	return nil
}
