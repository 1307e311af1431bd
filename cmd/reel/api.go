package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/reel-video/reel/api"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/envconfig"
	"github.com/reel-video/reel/orchestrator"
	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
	"golang.org/x/time/rate"
)

// apiFlags configure the HTTP API (reel server, reel gateway).
type apiFlags struct {
	addr    string
	keys    []string
	keyFile string
	rate    float64
	burst   int
}

// apiOff is the --api value that turns the API off.
const apiOff = "none"

func (f *apiFlags) register(fs *pflag.FlagSet, def string) {
	fs.StringVar(&f.addr, "api", def, `HTTP API and web UI address ("none": off); beyond loopback it needs an API key`)
	fs.StringSliceVar(&f.keys, "api-key", nil, "accepted API key (repeatable; prefer --api-key-file or $"+api.KeysEnv+", which stay off the command line)")
	fs.StringVar(&f.keyFile, "api-key-file", "", "file of accepted API keys, one a line")
	fs.Float64Var(&f.rate, "api-rate", api.DefaultRateLimit, "requests per second per API key (-1: unlimited)")
	fs.IntVar(&f.burst, "api-burst", api.DefaultBurst, "requests at once per API key")
}

func (f *apiFlags) enabled() bool { return f.addr != "" && f.addr != apiOff }

// check loads the keys and refuses an open bind before anything starts.
func (f *apiFlags) check() (*api.Keys, error) {
	if !f.enabled() {
		return nil, nil
	}
	keys, err := api.LoadKeys(f.keys, f.keyFile, envconfig.String(envconfig.APIKeys))
	if err != nil {
		return nil, err
	}
	return keys, api.CheckBind(f.addr, keys)
}

// serveAPI serves the API on the bus until ctx ends. The bound address is
// printed on out as an http:// URL (tests use --api 127.0.0.1:0).
func serveAPI(ctx context.Context, f *apiFlags, keys *api.Keys, b *bus.Bus, models []protocol.Manifest,
	metrics http.Handler, log zerolog.Logger, out io.Writer) error {
	backend, err := api.NewBusBackend(ctx, b, orchestrator.NewStore(b, log))
	if err != nil {
		return err
	}
	srv, err := api.New(api.Config{
		Backend: backend, Models: models, Keys: keys, RateLimit: rate.Limit(f.rate), Burst: f.burst,
		Retention: b.Cfg.MaxAge, Metrics: metrics, Log: log,
	})
	if err != nil {
		return err
	}
	return srv.Serve(ctx, f.addr, func(a net.Addr) { fmt.Fprintf(out, "http://%s\n", a) })
}
