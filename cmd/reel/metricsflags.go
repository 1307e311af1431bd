package main

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/reel-video/reel/internal/metrics"
	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
)

// metricsFlags: where a process serves /metrics, /healthz and /readyz.
type metricsFlags struct{ addr string }

func (f *metricsFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.addr, "metrics", "", `serve Prometheus /metrics and the /healthz and /readyz probes on this address (e.g. :9090; "" = off)`)
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
