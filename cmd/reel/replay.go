package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
	"github.com/spf13/cobra"
)

func newReplayCommand(a *app) *cobra.Command {
	var nf natsFlags
	var stage, job, since, until string
	var sets []string
	var watch bool
	kv := map[string]string{} // --set, parsed
	var from, to time.Time    // --since, --until, parsed
	cmd := &cobra.Command{
		Use:   "replay --stage S (--job J | --since T [--until T2]) [--set key=value ...]",
		Short: "Re-run a stage (and the stages after it) from its persisted input, as a new linked job",
		Long: `Replay re-runs stage S for job J from S's input kept in stream REEL, then the
stages downstream of it; upstream stages do not run. The result is a new job
(printed last) whose record names its parent; the parent's video stays.
Overrides: encode and vaedecode: fps, codec, crf, seam_blend; denoise and
textenc also frames, steps, guidance, shift, seed (a variation from the same
text embeddings). With --since/--until every job whose S input was stored
in the window is replayed, one line per job. Times are RFC 3339 or a
duration ago (e.g. 2h).`,
		Args: cobra.NoArgs,
		// Everything that needs no server is checked before connecting.
		PreRunE: func(*cobra.Command, []string) error {
			if _, err := protocol.InputKind(stage); err != nil {
				return fmt.Errorf("--stage: %w", err)
			}
			for _, s := range sets {
				k, v, ok := strings.Cut(s, "=")
				if !ok {
					return fmt.Errorf("--set %q: want key=value", s)
				}
				kv[k] = v
			}
			switch {
			case (job == "") == (since == ""):
				return errors.New("give either --job or --since")
			case job != "" && until != "":
				return errors.New("--until goes with --since, not --job")
			case since != "" && watch:
				return errors.New("--watch goes with --job, not --since")
			}
			var err error
			if since != "" {
				if from, err = parseWhen(since); err != nil {
					return fmt.Errorf("--since: %w", err)
				}
			}
			if until != "" {
				if to, err = parseWhen(until); err != nil {
					return fmt.Errorf("--until: %w", err)
				}
			}
			return nil
		},
		RunE: withClient(a, &nf, func(cmd *cobra.Command, _ []string, b *bus.Bus, store *orchestrator.Store) error {
			out := cmd.OutOrStdout()
			if job != "" {
				id, err := store.Replay(cmd.Context(), orchestrator.ReplayRequest{Stage: stage, Job: job, Set: kv})
				if err != nil {
					return err
				}
				if watch {
					j, err := follow(cmd.Context(), store, id, cmd.ErrOrStderr())
					if err != nil {
						return err
					}
					if j.State != protocol.StateSucceeded {
						return &exitError{1, fmt.Errorf("replay %s %s: %s", id, j.State, j.Error)}
					}
				}
				fmt.Fprintln(out, id)
				return nil
			}
			failed := 0
			n, err := store.ReplayWindow(cmd.Context(), stage, from, to, kv, func(parent, child string, err error) {
				if err != nil {
					failed++
					fmt.Fprintf(out, "%s: %v\n", parent, err)
					return
				}
				fmt.Fprintf(out, "%s -> %s\n", parent, child)
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%d jobs replayed from %s, %d failed\n", n-failed, stage, failed)
			if failed > 0 {
				return &exitError{1, fmt.Errorf("%d replays failed", failed)}
			}
			return nil
		}),
	}
	fs := cmd.Flags()
	nf.register(fs)
	fs.StringVar(&stage, "stage", "", "stage to re-run: textenc, denoise, vaedecode or encode")
	fs.StringVar(&job, "job", "", "job whose stage input to reuse")
	fs.StringVar(&since, "since", "", "replay every job whose input is newer (RFC 3339 or duration ago)")
	fs.StringVar(&until, "until", "", "... and older than this")
	fs.StringArrayVar(&sets, "set", nil, "setting override key=value (repeatable)")
	fs.BoolVar(&watch, "watch", false, "with --job: follow the new job until it ends")
	return cmd
}

func parseWhen(s string) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	return time.Parse(time.RFC3339, s)
}
