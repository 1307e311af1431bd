package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/envconfig"
	"github.com/spf13/pflag"
)

// natsFlags are the connection flags of every client and stage command.
type natsFlags struct {
	cc       bus.ConnectConfig
	password secretSource
}

func (f *natsFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.cc.URL, "nats", envconfig.NATSURL(), "NATS server URL(s), comma-separated (env REEL_NATS)")
	// Credentials also come from the environment, so that a Kubernetes
	// Secret or compose file need not put them on the command line.
	fs.StringVar(&f.cc.User, "nats-user", envconfig.String(envconfig.NATSUser), "NATS user (env REEL_NATS_USER)")
	f.password = secretSource{flag: "nats-password", file: "nats-password-file", env: envconfig.NATSPassword}
	fs.StringVar(&f.password.flagVal, "nats-password", "", "NATS password (visible in ps: prefer --nats-password-file or $REEL_NATS_PASSWORD)")
	fs.StringVar(&f.password.fileVal, "nats-password-file", "", "file holding the NATS password (env REEL_NATS_PASSWORD)")
	fs.StringVar(&f.cc.Token, "nats-token", envconfig.String(envconfig.NATSToken), "NATS token (env REEL_NATS_TOKEN)")
	fs.StringVar(&f.cc.CredsFile, "nats-creds", envconfig.String(envconfig.NATSCreds), "NATS credentials file (JWT + NKey; env REEL_NATS_CREDS)")
	fs.StringVar(&f.cc.NKeyFile, "nats-nkey", envconfig.String(envconfig.NATSNKey), "NATS NKey seed file (env REEL_NATS_NKEY)")
	fs.StringVar(&f.cc.TLSCA, "tls-ca", "", "CA certificate (PEM) to verify the NATS server")
	fs.StringVar(&f.cc.TLSCert, "tls-cert", "", "client certificate (PEM) for mutual TLS")
	fs.StringVar(&f.cc.TLSKey, "tls-key", "", "client key (PEM) for mutual TLS")
	fs.BoolVar(&f.cc.TLSFirst, "tls-first", false, "TLS handshake before the NATS INFO line")
}

// layoutFlags size streams and consumers (server and generate; stages and
// clients adopt what the server set up).
type layoutFlags struct{ lc bus.LayoutConfig }

func (f *layoutFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&f.lc.MaxAge, "max-age", bus.DefaultMaxAge, "retention of stage inputs, events and videos")
	fs.Int64Var(&f.lc.MaxBytes, "max-bytes", bus.DefaultMaxBytes, "size limit of stream REEL and of the blobs bucket (bytes)")
	fs.IntVar(&f.lc.Replicas, "js-replicas", bus.DefaultReplicas, "JetStream replicas (3 on a cluster)")
	fs.DurationVar(&f.lc.AckWait, "ack-wait", bus.DefaultAckWait, "ack wait of the stage consumers (workers heartbeat every third)")
	fs.IntVar(&f.lc.MaxDeliver, "max-deliver", bus.DefaultMaxDeliver, "deliveries of a message before its job fails")
	fs.IntVar(&f.lc.MaxQueue, "max-queue", bus.DefaultMaxQueue, "refuse submissions while this many jobs wait (-1: unlimited)")
}

// settingsFlags are a job's settings.
type settingsFlags struct {
	set       protocol.Settings
	negative  string
	seamBlend float64
}

func (f *settingsFlags) register(fs *pflag.FlagSet) {
	d := protocol.DefaultSettings()
	fs.IntVar(&f.set.Frames, "frames", d.Frames, fmt.Sprintf("video frames: a multiple of %d up to %d", protocol.FramesPerChunk, protocol.MaxFrames))
	fs.IntVar(&f.set.Steps, "steps", d.Steps, fmt.Sprintf("denoising steps (%d..%d)", protocol.MinSteps, protocol.MaxSteps))
	fs.Float64Var(&f.set.Guidance, "guidance", d.Guidance, fmt.Sprintf("classifier-free guidance scale (0..%d)", protocol.MaxGuidance))
	fs.Float64Var(&f.set.Shift, "shift", d.Shift, "sigma schedule shift (> 0)")
	fs.Int64Var(&f.set.Seed, "seed", 0, "noise seed")
	fs.StringVar(&f.negative, "negative", "", "negative prompt")
	fs.IntVar(&f.set.WindowFrames, "window-frames", 0, fmt.Sprintf("denoise window in frames, a multiple of %d (0: the model's)", protocol.FramesPerChunk))
	fs.IntVar(&f.set.OverlapFrames, "overlap-frames", 0, fmt.Sprintf("frames a window overlaps the previous one by, a multiple of %d (0: the model's)", protocol.FramesPerChunk))
	fs.StringVar(&f.set.Model, "model", "", `model to run on, as workers advertise it (e.g. "reel-tiny@96x64"; default: the one served)`)
	fs.IntVar(&f.set.FPS, "fps", 0, "output fps (0: the model's)")
	fs.IntVar(&f.set.CRF, "crf", 0, "x264 CRF (0: the encode stage's default)")
	fs.StringVar(&f.set.Codec, "codec", "", `output codec ("" = the encode stage's default; h264 is the one supported)`)
	fs.Float64Var(&f.seamBlend, "seam-blend", -1, "weight a chunk-boundary frame takes from its neighbour, 0..0.5 (0 off; default: the encode stage's)")
}

func (f *settingsFlags) request(prompt string) (protocol.Request, protocol.Settings) {
	s := f.set
	if f.seamBlend >= 0 {
		v := f.seamBlend
		s.SeamBlend = &v
	}
	return protocol.Request{Prompt: prompt, Negative: f.negative}, s
}

// --replicas values besides stage=N lists.
const (
	replicasAll  = "all"
	replicasNone = "none"
)

// parseReplicas parses "vaedecode=3,denoise=1" ("all" for one of each,
// "none" or "" for none).
func parseReplicas(s string) (map[string]int, error) {
	out := map[string]int{}
	if s == "" || s == replicasNone {
		return out, nil
	}
	if s == replicasAll {
		for _, st := range protocol.Stages() {
			out[st] = 1
		}
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		name, n, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			n = "1"
		}
		if _, err := protocol.InputKind(name); err != nil {
			return nil, err
		}
		v, err := strconv.Atoi(n)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("replicas of %s: %q is not a positive number", name, n)
		}
		out[name] = v
	}
	return out, nil
}

// config resolves the password and returns the connection config.
func (f *natsFlags) config(w io.Writer) (bus.ConnectConfig, error) {
	pw, err := f.password.resolve(w)
	if err != nil {
		return bus.ConnectConfig{}, err
	}
	cc := f.cc
	cc.Password = pw
	return cc, nil
}
