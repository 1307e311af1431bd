package model

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/reel-video/reel/model/kernels"
	"github.com/reel-video/reel/model/safetensors"
)

// ErrWeights is wrapped by every error about a weight file's contents
// (missing tensor, wrong shape or dtype).
var ErrWeights = errors.New("model: bad weights")

// tensors looks up a checkpoint's tensors by name, checking shape and
// dtype. The weights it loads (f32, linear, smallLinear) are fresh copies:
// none aliases the file buffer, so the caller may drop the file (and the
// loaded model's memory is exactly what it keeps); only get's raw tensor
// points into the file. kept (when not nil) adds up the bytes of what they
// returned: the loaded model's resident weights, reported by the Manifest.
type tensors struct {
	file string
	f    *safetensors.File
	kept *int64
}

func (s tensors) keep(n int) {
	if s.kept != nil {
		*s.kept += int64(n)
	}
}

func (s tensors) get(name string, shape ...int) (*safetensors.Tensor, error) {
	t, ok := s.f.Get(name)
	if !ok {
		return nil, fmt.Errorf("%w: %s: missing tensor %q", ErrWeights, s.file, name)
	}
	if !slices.Equal(t.Shape, shape) {
		return nil, fmt.Errorf("%w: %s: tensor %q has shape %v, want %v", ErrWeights, s.file, name, t.Shape, shape)
	}
	return t, nil
}

// f32 returns a tensor widened to float32 (F32, BF16 and F16 widen
// exactly), counted as kept.
func (s tensors) f32(name string, shape ...int) ([]float32, error) {
	v, err := s.widen(name, shape...)
	s.keep(4 * len(v))
	return v, err
}

// widen is f32 for values the caller repacks (not counted as kept).
func (s tensors) widen(name string, shape ...int) ([]float32, error) {
	t, err := s.get(name, shape...)
	if err != nil {
		return nil, err
	}
	v, err := t.Float32()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrWeights, s.file, err)
	}
	if err := checkFinite(s.file, name, v); err != nil {
		return nil, err
	}
	return v, nil
}

// linear loads the [out, in] weight of a Linear layer. An F8_E4M3 tensor
// keeps its codes (copied) with the per-row F32 "<name>_scale" tensor; any
// float dtype becomes float32.
func (s tensors) linear(name string, out, in int) (*kernels.Weight, error) {
	t, err := s.get(name, out, in)
	if err != nil {
		return nil, err
	}
	var w *kernels.Weight
	if t.DType == safetensors.F8_E4M3 {
		scale, err := s.widen(name+"_scale", out)
		if err != nil {
			return nil, err
		}
		if err := checkFP8(s.file, name, t.Data, scale, in); err != nil {
			return nil, err
		}
		w = kernels.NewWeightFP8(out, in, t.Data, scale) // packed into panels: the file bytes are not kept
	} else {
		v, err := s.widen(name, out, in)
		if err != nil {
			return nil, err
		}
		w = kernels.NewWeightF32(out, in, v)
	}
	s.keep(w.Bytes())
	return w, nil
}

// smallLinear loads a Linear layer (weight and bias) outside the DiT blocks
// that runs rarely: the timestep MLP and AdaLN (one row per step) and the
// caption MLP (once per Sample call). In compact mode a BF16 weight stays
// BF16 and is widened exactly when used; otherwise it becomes float32.
func (s tensors) smallLinear(prefix string, out, in int, compact bool) (*smallLinear, error) {
	bias, err := s.widen(prefix+".bias", out)
	if err != nil {
		return nil, err
	}
	t, err := s.get(prefix+".weight", out, in)
	if err != nil {
		return nil, err
	}
	l := &smallLinear{out: out, in: in, bias: bias}
	if compact && t.DType == safetensors.BF16 {
		l.bf16 = make([]uint16, out*in)
		for i := range l.bf16 {
			l.bf16[i] = binary.LittleEndian.Uint16(t.Data[2*i:])
		}
	} else if l.f32, err = s.widen(prefix+".weight", out, in); err != nil {
		return nil, err
	}
	s.keep(l.bytes())
	return l, nil
}

// fileConfig parses a checkpoint's __metadata__.config; ok is false when
// the file carries none.
func fileConfig(name string, f *safetensors.File) (c Config, ok bool, err error) {
	s, ok := f.Metadata["config"]
	if !ok {
		return Config{}, false, nil
	}
	c, err = ParseConfig(s)
	if err != nil {
		return Config{}, true, fmt.Errorf("%s: %w", name, err)
	}
	return c, true, nil
}
