package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/clientapi"
	"github.com/reel-video/reel/internal/envconfig"
	"github.com/reel-video/reel/orchestrator"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// clientRole is --client NAME: the command holds only the client role
// (`reel auth init --client NAME`), which has no JetStream access, and goes
// through the client API on reel.api.NAME.* instead (docs/reliability.md,
// "Isolation").
type clientRole struct{ name string }

func (c *clientRole) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.name, "client", envconfig.String(envconfig.Client),
		"act as this user of the client role: go through the client API (reel client-api), which serves only your own jobs (env REEL_CLIENT)")
}

// apiFunc is a client command's body for the client role.
type apiFunc func(cmd *cobra.Command, args []string, api roleAPI) error

// roleAPI is the client API as one client sees it.
type roleAPI struct {
	c   clientapi.Client
	log zerolog.Logger
}

// either runs asClient's body under --client, else the JetStream body.
func either(a *app, nf *natsFlags, role *clientRole, admin clientFunc, asClient apiFunc) func(*cobra.Command, []string) error {
	jetStream := withClient(a, nf, admin)
	return func(cmd *cobra.Command, args []string) error {
		if role.name == "" {
			return jetStream(cmd, args)
		}
		if err := protocol.ValidJobID(role.name); err != nil {
			return fmt.Errorf("--client: %w", err)
		}
		nf.cc.InboxPrefix = bus.ClientInbox(role.name)
		nf.cc.NoJetStream = true
		log, cc, err := clientSetup(a, nf, cmd)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), bus.OpenRetry.Total)
		defer cancel()
		var conn *bus.Conn
		err = bus.OpenRetry.Do(ctx, log, "nats: connect", func(ctx context.Context) error {
			conn, err = bus.Connect(ctx, cc, log)
			return err
		})
		if err != nil {
			return connectHint(err, nf.cc.URL)
		}
		defer conn.Close()
		return asClient(cmd, args, roleAPI{c: clientapi.Client{NC: conn.NC, Name: role.name}, log: log})
	}
}

// call is one client API call, retried through leader elections and a
// client API restarting (no responders). Every operation is safe to repeat:
// a submit names its job id.
func (api roleAPI) call(ctx context.Context, op string, req clientapi.Request) (clientapi.Reply, error) {
	var rep clientapi.Reply
	err := bus.ClientRetry.Do(ctx, api.log, "client api "+op, func(ctx context.Context) error {
		var err error
		rep, err = api.c.Call(ctx, op, req)
		return err
	})
	return rep, err
}

// record is a job's record through the client API.
func (api roleAPI) record(ctx context.Context, id string) (*orchestrator.Job, error) {
	rep, err := api.call(ctx, clientapi.OpStatus, clientapi.Request{Job: id})
	if err != nil {
		return nil, err
	}
	if rep.Rec == nil {
		return nil, fmt.Errorf("client api status %s: no record in the reply", id)
	}
	return rep.Rec, nil
}

// watch follows a job through its record, the only view the client
// role has: a line each time its summary changes, until it ends.
func (api roleAPI) watch(ctx context.Context, id string, w io.Writer) (*orchestrator.Job, error) {
	tick := time.NewTicker(clientWatchEvery)
	defer tick.Stop()
	last := ""
	for {
		j, err := api.record(ctx, id)
		if err != nil {
			return nil, err
		}
		if s := j.Summary(); s != last {
			fmt.Fprintln(w, s)
			last = s
		}
		if j.State.Terminal() {
			return j, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// clientWatchEvery is how often `watch --client` reads the record.
const clientWatchEvery = 250 * time.Millisecond

// save downloads a finished job's video through the client API and checks
// it against the record's sha256 (the client API checks it too; this
// covers the way between).
func (api roleAPI) save(ctx context.Context, j *orchestrator.Job, path string) error {
	rep, err := api.call(ctx, clientapi.OpVideo, clientapi.Request{Job: j.ID})
	if err != nil {
		return err
	}
	return writeVerified(path, "the video of "+j.ID, j.Video.SHA256, func(w io.Writer) error {
		_, err := w.Write(rep.Video)
		return err
	})
}

// errClientRoleVideoOnly: the client API serves the MP4 only.
var errClientRoleVideoOnly = errors.New("--client: the client API serves the video only (--what video)")
