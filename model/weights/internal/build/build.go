// Package build derives the embedded weight files from the reference
// model's checkpoints. It is shared by the generator (internal/gen) and
// the tests that check the embedded files are up to date.
package build

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/reel-video/reel/model/fp8"
	"github.com/reel-video/reel/model/safetensors"
)

// File names of the embedded weights, inside model/weights.
const (
	DiTFile  = "dit.fp8.safetensors"
	TextFile = "text.bf16.safetensors"
	VAEFile  = "vae.bf16.safetensors"
)

// Reference checkpoint names, as in shared/refmodel.
const (
	RefDiT  = "reel-tiny.dit.bf16.safetensors"
	RefText = "reel-tiny.text.bf16.safetensors"
	RefVAE  = "reel-tiny.vae.bf16.safetensors"
)

// DiT quantizes the BF16 DiT checkpoint to the FP8 one (fp8.QuantizeCheckpoint).
func DiT(bf16 []byte) ([]byte, error) {
	f, err := safetensors.Parse(RefDiT, bf16)
	if err != nil {
		return nil, err
	}
	q, err := fp8.QuantizeCheckpoint(f)
	if err != nil {
		return nil, err
	}
	return encode(q)
}

// Text validates the text encoder checkpoint and returns it unchanged.
func Text(ref []byte) ([]byte, error) {
	if _, err := safetensors.Parse(RefText, ref); err != nil {
		return nil, err
	}
	return bytes.Clone(ref), nil
}

// VAE keeps the decoder half of the VAE checkpoint: every "vae.decoder."
// tensor plus vae.latent_mean and vae.latent_std (needed to de-normalise
// latents), with the metadata. The encoder is only used in training.
func VAE(full []byte) ([]byte, error) {
	f, err := safetensors.Parse(RefVAE, full)
	if err != nil {
		return nil, err
	}
	out := &safetensors.File{Metadata: f.Metadata}
	for _, t := range f.Tensors {
		if strings.HasPrefix(t.Name, "vae.decoder.") || t.Name == "vae.latent_mean" || t.Name == "vae.latent_std" {
			out.Tensors = append(out.Tensors, t)
		}
	}
	for _, need := range []string{"vae.latent_mean", "vae.latent_std"} {
		if _, ok := out.Get(need); !ok {
			return nil, fmt.Errorf("%s: tensor %q missing", RefVAE, need)
		}
	}
	return encode(out)
}

func encode(f *safetensors.File) ([]byte, error) {
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, f.Tensors, f.Metadata); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
