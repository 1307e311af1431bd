package main

import (
	"fmt"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/orchestrator"
	"github.com/spf13/cobra"
)

func newDeleteCommand(a *app) *cobra.Command {
	var nf natsFlags
	cmd := &cobra.Command{
		Use:   "delete JOB...",
		Short: "Delete jobs: their messages, events, videos and records (a running job is cancelled first)",
		Args:  cobra.MinimumNArgs(1),
		RunE: withClient(a, &nf, func(cmd *cobra.Command, args []string, _ *bus.Bus, store *orchestrator.Store) error {
			for _, id := range args {
				if err := store.Delete(cmd.Context(), id); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s deleted\n", id)
			}
			return nil
		}),
	}
	nf.register(cmd.Flags())
	return cmd
}

func newPruneCommand(a *app) *cobra.Command {
	var nf natsFlags
	var before string
	cmd := &cobra.Command{
		Use:   "prune --before T",
		Short: "Delete every ended job created before T (RFC 3339, or a duration ago such as 72h)",
		Args:  cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			_, err := parseBefore(before, time.Now())
			return err
		},
		RunE: withClient(a, &nf, func(cmd *cobra.Command, _ []string, _ *bus.Bus, store *orchestrator.Store) error {
			t, _ := parseBefore(before, time.Now())
			var failed error
			n, err := store.Prune(cmd.Context(), t, func(id string, err error) {
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", id, err)
					failed = err
					return
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s deleted\n", id)
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d jobs deleted\n", n)
			return failed
		}),
	}
	nf.register(cmd.Flags())
	cmd.Flags().StringVar(&before, "before", "", "delete jobs created before this time (RFC 3339) or this long ago (e.g. 72h)")
	return cmd
}

// parseBefore reads --before: an RFC 3339 time or a duration before now.
func parseBefore(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("--before is required")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("--before %q: want an RFC 3339 time or a positive duration", s)
	}
	return now.Add(-d), nil
}
