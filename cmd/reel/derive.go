package main

import (
	"fmt"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
	"github.com/spf13/cobra"
)

// derived prints a new linked job's id last (after following it with
// --watch), like reel submit.
func derived(cmd *cobra.Command, store *orchestrator.Store, what, id string, watch bool) error {
	if watch {
		j, err := follow(cmd.Context(), store, id, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		if j.State != protocol.StateSucceeded {
			return &exitError{1, fmt.Errorf("%s %s %s: %s", what, id, j.State, j.Error)}
		}
	}
	fmt.Fprintln(cmd.OutOrStdout(), id)
	return nil
}

func newExtendCommand(a *app) *cobra.Command {
	var nf natsFlags
	var r orchestrator.ExtendRequest
	var seed int64
	var watch bool
	cmd := &cobra.Command{
		Use:   "extend JOB --frames N [--prompt P] [--seed S]",
		Short: "Continue a finished video by N frames, as a new linked job",
		Long: `Extend makes a new job whose video is JOB's frames followed by N new ones
that continue from JOB's last latent chunks, read from stream REEL: JOB is
neither denoised nor decoded again (its frames are copied), only the new
frames are. --prompt changes what the new frames show (default: JOB's
prompt); --seed their noise (default: JOB's seed). Refused when JOB has not
succeeded, when its latents or frames have aged out of the stream, or when
the longer video would not fit (frames limit). Prints the new job id last.`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if r.Frames <= 0 || r.Frames%protocol.FramesPerChunk != 0 {
				return fmt.Errorf("--frames %d: want a positive multiple of %d", r.Frames, protocol.FramesPerChunk)
			}
			if cmd.Flags().Changed("seed") {
				r.Seed = &seed
			}
			r.Job = args[0]
			return nil
		},
		RunE: withClient(a, &nf, func(cmd *cobra.Command, _ []string, _ *bus.Bus, store *orchestrator.Store) error {
			id, err := store.Extend(cmd.Context(), r)
			if err != nil {
				return err
			}
			return derived(cmd, store, "extension", id, watch)
		}),
	}
	fs := cmd.Flags()
	nf.register(fs)
	fs.IntVar(&r.Frames, "frames", 0, fmt.Sprintf("new frames (a multiple of %d)", protocol.FramesPerChunk))
	fs.StringVar(&r.Prompt, "prompt", "", "prompt of the new frames (default: the parent's)")
	fs.Int64Var(&seed, "seed", 0, "noise seed of the new frames (default: the parent's)")
	fs.BoolVar(&watch, "watch", false, "follow the new job until it ends")
	return cmd
}

func newRemixCommand(a *app) *cobra.Command {
	var nf natsFlags
	var r orchestrator.RemixRequest
	var seed int64
	var watch bool
	cmd := &cobra.Command{
		Use:   "remix JOB --prompt P [--strength 0.6] [--seed S]",
		Short: "Redo a finished video under a new prompt, keeping its motion, as a new linked job",
		Long: `Remix makes a new job from JOB's latent, read from stream REEL, denoised again
under prompt P from strength s: sampling starts at sigma s from JOB's latent
blended with noise, so a low s keeps more of JOB (layout, motion) and s = 1
is a fresh generation. --seed sets the noise (default: JOB's seed). Refused
when JOB has not succeeded, when its latents have aged out of the stream, or
when JOB is an extension (remix its parent). Prints the new job id last.`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if r.Prompt == "" {
				return fmt.Errorf("--prompt is required")
			}
			if !(r.Strength > 0 && r.Strength <= 1) {
				return fmt.Errorf("--strength %v: want a value in (0, 1]", r.Strength)
			}
			if cmd.Flags().Changed("seed") {
				r.Seed = &seed
			}
			r.Job = args[0]
			return nil
		},
		RunE: withClient(a, &nf, func(cmd *cobra.Command, _ []string, _ *bus.Bus, store *orchestrator.Store) error {
			id, err := store.Remix(cmd.Context(), r)
			if err != nil {
				return err
			}
			return derived(cmd, store, "remix", id, watch)
		}),
	}
	fs := cmd.Flags()
	nf.register(fs)
	fs.StringVar(&r.Prompt, "prompt", "", "the new prompt (required)")
	fs.Float64Var(&r.Strength, "strength", orchestrator.DefaultRemixStrength, "sigma to start from, in (0, 1]: lower keeps more of the parent")
	fs.Int64Var(&seed, "seed", 0, "noise seed (default: the parent's)")
	fs.BoolVar(&watch, "watch", false, "follow the new job until it ends")
	return cmd
}
