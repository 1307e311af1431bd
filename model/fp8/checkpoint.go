package fp8

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/reel-video/reel/model/safetensors"
)

// Scheme describes the quantization in the output file's metadata.
const Scheme = "per-output-channel, scale=amax/448, saturate then RNE"

// IsQuantized reports whether QuantizeCheckpoint turns the named tensor
// into FP8: the 2-D ".weight" matrices of the DiT blocks (attention,
// cross-attention and FFN linears). Everything else (embeddings, timestep
// MLP, adaln, caption projection, norms, tables, patch_embed, proj_out)
// stays in its original precision, as reel_tiny.py's reference does.
func IsQuantized(t *safetensors.Tensor) bool {
	return strings.HasPrefix(t.Name, "dit.blocks.") && strings.HasSuffix(t.Name, ".weight") && len(t.Shape) == 2
}

// ScaleName returns the name of the per-row scale tensor that goes with a
// quantized weight: "x.weight" -> "x.weight_scale".
func ScaleName(weight string) string { return weight + "_scale" }

// QuantizeCheckpoint returns a complete FP8 DiT checkpoint: every tensor
// IsQuantized selects becomes F8_E4M3 codes plus an F32 [out] scale tensor
// named ScaleName(weight), and every other tensor is kept unchanged (its
// data aliases the input). The metadata is copied, with "quantization"
// set to Scheme. Weights may be F32, F16 or BF16 (all widen exactly).
func QuantizeCheckpoint(f *safetensors.File) (*safetensors.File, error) {
	out := &safetensors.File{Metadata: make(map[string]string, len(f.Metadata)+1)}
	for k, v := range f.Metadata {
		out.Metadata[k] = v
	}
	out.Metadata["quantization"] = Scheme
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if !IsQuantized(t) {
			out.Tensors = append(out.Tensors, *t)
			continue
		}
		if _, clash := f.Get(ScaleName(t.Name)); clash {
			return nil, fmt.Errorf("fp8: tensor %q: input already has %q", t.Name, ScaleName(t.Name))
		}
		w, err := t.Float32()
		if err != nil {
			return nil, fmt.Errorf("fp8: quantizing %q: %w", t.Name, err)
		}
		rows, cols := t.Shape[0], t.Shape[1]
		codes, scale := QuantizeRows(w, rows, cols)
		out.Tensors = append(out.Tensors,
			safetensors.Tensor{Name: t.Name, DType: safetensors.F8_E4M3, Shape: []int{rows, cols}, Data: codes},
			safetensors.Tensor{Name: ScaleName(t.Name), DType: safetensors.F32, Shape: []int{rows}, Data: float32Bytes(scale)},
		)
	}
	slices.SortFunc(out.Tensors, func(a, b safetensors.Tensor) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// QuantizeFile reads the safetensors checkpoint at in, quantizes it with
// QuantizeCheckpoint and writes the result to out (via a temporary file in
// the same directory and a rename, so out is never left half-written). out
// gets mode 0644 like any written file, not the temporary file's 0600.
func QuantizeFile(in, out string) error {
	f, err := safetensors.ReadFile(in)
	if err != nil {
		return err
	}
	q, err := QuantizeCheckpoint(f)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, q.Tensors, q.Metadata); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

func float32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}
