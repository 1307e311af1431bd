// Package weights holds the built-in reel-tiny weights inside the binary
// (go:embed), so reel runs from any directory with no files around it:
//
//   - DiT: the DiT with its block linears in FP8 (F8_E4M3 codes plus F32
//     per-output-channel "…weight_scale"), everything else BF16, produced
//     by package fp8's quantizer from the reference BF16 checkpoint;
//   - Text: the text encoder, BF16, a copy of the reference checkpoint;
//   - VAE: the VAE decoder ("vae.decoder.*") in BF16 plus the F32
//     vae.latent_mean and vae.latent_std; the encoder is training-only.
//
// Every file keeps the reference's "__metadata__" (the "config" JSON).
// Regenerate them with `go generate ./model/weights/` (see internal/gen),
// which also records their digest (Digest); the tests check that
// re-quantizing reproduces the embedded DiT exactly.
package weights

import (
	_ "embed"
	"unsafe"
)

//go:generate go run ./internal/gen

var (
	//go:embed dit.fp8.safetensors
	dit string
	//go:embed text.bf16.safetensors
	text string
	//go:embed vae.bf16.safetensors
	vae string
)

// The accessors return the embedded bytes without copying (about 20 MB in
// all). They are embedded as strings, so the slices point into the
// binary's read-only data: callers must not modify them (a write faults),
// and in exchange every caller shares the same pages and safetensors.Parse
// can alias tensors into them.

// DiT returns the FP8 DiT checkpoint (safetensors). Read-only.
func DiT() []byte { return readOnly(dit) }

// Text returns the BF16 text encoder checkpoint (safetensors). Read-only.
func Text() []byte { return readOnly(text) }

// VAE returns the BF16 VAE decoder checkpoint (safetensors). Read-only.
func VAE() []byte { return readOnly(vae) }

func readOnly(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
