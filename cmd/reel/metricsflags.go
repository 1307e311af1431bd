package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/reel-video/reel/internal/envconfig"
	"github.com/reel-video/reel/internal/metrics"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// metricsFlags: where a process serves /metrics, /healthz and /readyz.
type metricsFlags struct{ addr string }

func (f *metricsFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.addr, "metrics", envconfig.String(envconfig.Metrics), `serve Prometheus /metrics and the /healthz and /readyz probes on this address (e.g. :9090; "" = off; env REEL_METRICS)`)
}

// serveProbes serves p on the flag's address in the background until ctx
// ends, printing "metrics http://ADDR" on out; a failure to listen stops
// the process through fail.
func (f *metricsFlags) serveProbes(ctx context.Context, p *metrics.Probes, out io.Writer, log zerolog.Logger, fail func(error)) {
	if f.addr == "" {
		return
	}
	go func() {
		err := p.Serve(ctx, f.addr, func(a net.Addr) {
			fmt.Fprintf(out, "metrics http://%s\n", a)
			log.Info().Str("addr", a.String()).Msg("metrics and probes serving")
		})
		if err != nil {
			fail(err)
		}
	}()
}

// newProbeCommand is the container HEALTHCHECK: GET a probe URL, exit 0 on
// 2xx (the image has no curl).
func newProbeCommand() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:    "probe URL",
		Short:  "GET a /healthz or /readyz URL; exit 0 when it answers 2xx",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := &http.Client{Timeout: timeout}
			resp, err := c.Get(args[0])
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			if resp.StatusCode/100 != 2 {
				return fmt.Errorf("%s: %s: %s", args[0], resp.Status, strings.TrimSpace(string(body)))
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "request timeout")
	return cmd
}
