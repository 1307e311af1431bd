package runner

import (
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/rs/zerolog"
)

// Defaults of Config's timeouts.
const (
	DefaultHelloTimeout = 2 * time.Minute
	DefaultPingInterval = 5 * time.Second
	DefaultPingTimeout  = 30 * time.Second
	DefaultStopTimeout  = 5 * time.Second
)

// Config configures Start.
type Config struct {
	// Command is the runner's argv, e.g. TorchCommand's result or the
	// words of --engine exec:COMMAND.
	Command []string
	// Env is added to the stage's environment for the runner.
	Env []string
	// Weights are the checkpoint paths by role (protocol.Model: "dit",
	// "text", "vae"), sent in hello; see WriteEmbeddedWeights.
	Weights map[string]string
	// Models are the models the runner is asked to load (hello's models;
	// nil: all three). A runner may load more; the stage calls only those.
	Models []protocol.Model
	// HelloTimeout bounds start-up: process start, model load and the
	// hello answer. Default DefaultHelloTimeout.
	HelloTimeout time.Duration
	// PingInterval and PingTimeout: the runner is sent health every
	// PingInterval and killed as hung when one is not answered within
	// PingTimeout. Defaults DefaultPingInterval and DefaultPingTimeout.
	PingInterval, PingTimeout time.Duration
	// StopTimeout is how long Close waits for the runner to exit after its
	// stdin closes before killing it. Default DefaultStopTimeout.
	StopTimeout time.Duration
	// Backoff paces restarts after a runner dies; nil means exponential
	// from 250 ms to 30 s. It is reset by a successful call.
	Backoff backoff.BackOff
	// Log receives the runner's stderr lines and lifecycle events.
	Log zerolog.Logger
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.HelloTimeout, DefaultHelloTimeout)
	def(&c.PingInterval, DefaultPingInterval)
	def(&c.PingTimeout, DefaultPingTimeout)
	def(&c.StopTimeout, DefaultStopTimeout)
	if c.Backoff == nil {
		b := backoff.NewExponentialBackOff()
		b.InitialInterval = 250 * time.Millisecond
		b.MaxInterval = 30 * time.Second
		b.MaxElapsedTime = 0 // never give up: the stage decides when a job fails
		c.Backoff = b
	}
	return c
}
