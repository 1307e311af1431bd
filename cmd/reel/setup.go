package main

import (
	"context"
	"fmt"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/spf13/cobra"
)

// newSetupCommand provisions (or updates) reel's streams, buckets and
// consumer settings on an external NATS cluster.
func newSetupCommand(a *app) *cobra.Command {
	var nf natsFlags
	var lf layoutFlags
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Create or update reel's streams and buckets on a NATS server (e.g. R3 on a cluster)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := a.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			nf.cc.Name = "reel setup"
			ctx, cancel := context.WithTimeout(cmd.Context(), 60*time.Second)
			defer cancel()
			cc, err := nf.config(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			b, err := bus.Provision(ctx, cc, lf.lc, log)
			if err != nil {
				return err
			}
			defer b.Close()
			for _, s := range protocol.Stages() {
				if _, err := b.Consumer(ctx, s); err != nil {
					return err
				}
			}
			c := b.Cfg
			fmt.Fprintf(cmd.OutOrStdout(), "layout ready: max age %s, max bytes %d, replicas %d, ack wait %s, max deliver %d\n",
				c.MaxAge, c.MaxBytes, c.Replicas, c.AckWait, c.MaxDeliver)
			return nil
		},
	}
	nf.register(cmd.Flags())
	lf.register(cmd.Flags())
	return cmd
}
