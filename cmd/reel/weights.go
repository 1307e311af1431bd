package main

import (
	"fmt"

	"github.com/reel-video/reel/internal/envconfig"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/model/fp8"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// weightFlags choose the model weights: the built-in reel-tiny files unless a
// flag or its environment variable names another safetensors file.
type weightFlags struct{ opts model.Options }

func (w *weightFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&w.opts.DiTPath, "dit", envconfig.String(envconfig.DiT), "DiT safetensors (FP8 from 'reel quantize', or BF16/F32); default the built-in FP8 DiT (env REEL_DIT)")
	fs.StringVar(&w.opts.TextPath, "text-encoder", envconfig.String(envconfig.TextEncoder), "text encoder safetensors; default built in (env REEL_TEXT_ENCODER)")
	fs.StringVar(&w.opts.VAEPath, "vae", envconfig.String(envconfig.VAE), "VAE decoder safetensors; default built in (env REEL_VAE)")
	// The same weights at another frame size are another model
	// ("reel-tiny@96x64"): jobs name it in settings.model.
	fs.IntVar(&w.opts.Width, "width", 0, "frame width in pixels, a multiple of 16 (default: the checkpoint's)")
	fs.IntVar(&w.opts.Height, "height", 0, "frame height in pixels, a multiple of 16 (default: the checkpoint's)")
	fs.IntVar(&w.opts.FPS, "model-fps", 0, "the model's frame rate, the default of every job it serves (default: the checkpoint's)")
}

func newQuantizeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "quantize IN.safetensors OUT.safetensors",
		Short: "Quantize a BF16/F32 DiT checkpoint to FP8 (E4M3FN, per-output-channel scales)",
		Long: `Quantize writes an FP8 DiT checkpoint: every 2-D dit.blocks.* weight becomes
F8_E4M3 codes with a float32 scale per output row (scale = amax/448, codes =
E4M3(clamp(w/scale, -448, 448)) rounded to nearest even); every other tensor
is kept as it is. Load the result with --dit (or REEL_DIT).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := fp8.QuantizeFile(args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), args[1])
			return nil
		},
	}
}
