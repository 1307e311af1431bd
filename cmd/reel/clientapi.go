package main

import (
	"context"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/clientapi"
	"github.com/reel-video/reel/orchestrator"
	"github.com/spf13/cobra"
)

func newClientAPICommand(a *app) *cobra.Command {
	var nf natsFlags
	cmd := &cobra.Command{
		Use:   "client-api --nats URL --nats-user admin --nats-password-file FILE",
		Short: "Serve client-role users their own jobs (submit, status, cancel, video) on reel.api.<client>.*",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := a.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			nf.cc.Name = "reel client-api"
			cc, err := nf.config(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			bctx, cancel := context.WithTimeout(cmd.Context(), bus.OpenRetry.Total)
			defer cancel()
			b, err := bus.Open(bctx, cc, bus.LayoutConfig{}, log)
			if err != nil {
				return err
			}
			defer b.Close()
			log.Info().Str("subjects", bus.APIFilter).Msg("client API serving")
			return (&clientapi.Server{Bus: b, Store: orchestrator.NewStore(b, log), Log: log}).Run(cmd.Context())
		},
	}
	nf.register(cmd.Flags())
	return cmd
}
