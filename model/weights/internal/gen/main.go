// Command gen regenerates the embedded weights of package weights from the
// reference model's checkpoints:
//
//	dit.fp8.safetensors   FP8 quantization of the BF16 DiT (package fp8)
//	text.bf16.safetensors copy of the text encoder checkpoint
//	vae.bf16.safetensors  the VAE decoder tensors and latent statistics
//
// Run it from model/weights with `go generate`, or:
//
//	go run ./internal/gen -refmodel ../../../shared/refmodel
//
// The BF16 DiT is read from -dit (default: the copy in model/testdata) so
// the FP8 file can be rebuilt from the repository alone. This is a build
// tool: nothing reads these paths when reel runs.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/reel-video/reel/model/weights/internal/build"
)

func main() {
	refmodel := flag.String("refmodel", "../../../shared/refmodel", "directory with the reference checkpoints (text and VAE)")
	dit := flag.String("dit", "../testdata/"+build.RefDiT, "BF16 DiT checkpoint to quantize")
	out := flag.String("out", ".", "output directory")
	flag.Parse()
	if err := run(*refmodel, *dit, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(refmodel, dit, out string) error {
	jobs := []struct {
		src, dst string
		f        func([]byte) ([]byte, error)
	}{
		{dit, build.DiTFile, build.DiT},
		{filepath.Join(refmodel, build.RefText), build.TextFile, build.Text},
		{filepath.Join(refmodel, build.RefVAE), build.VAEFile, build.VAE},
	}
	for _, j := range jobs {
		in, err := os.ReadFile(j.src)
		if err != nil {
			return err
		}
		b, err := j.f(in)
		if err != nil {
			return err
		}
		dst := filepath.Join(out, j.dst)
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: %d bytes from %s\n", dst, len(b), j.src)
	}
	return nil
}
