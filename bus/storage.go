package bus

import (
	"context"
	"errors"
	"fmt"
)

// ErrStoreFull refuses a new job while the store is nearly full: the room
// left is kept for the jobs already running, so that a new job can never
// push out (or be pushed out by) work in flight.
var ErrStoreFull = errors.New("store full")

// HighWater is the share of a limit above which new jobs are refused.
const HighWater = 0.75

// CheckRoom returns ErrStoreFull, naming what is full and how to free it,
// when stream REEL, the blobs bucket or the account's JetStream storage is
// above HighWater of its limit. Stream REEL discards new messages when
// full (never old ones: those are running jobs' inputs), so a stage
// publishing into a full store fails its job with the server's reason
// instead of losing another job's messages.
func (b *Bus) CheckRoom(ctx context.Context) error {
	full := func(what string, used, limit int64) error {
		if limit > 0 && float64(used) > HighWater*float64(limit) {
			return fmt.Errorf("%w: %s holds %d of %d bytes (new jobs are refused above %.0f%%, leaving the rest to running jobs); free space with 'reel delete JOB' or 'reel prune --before T', or raise the limit",
				ErrStoreFull, what, used, limit, HighWater*100)
		}
		return nil
	}
	si, err := b.Stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := full("stream "+si.Config.Name, int64(si.State.Bytes), si.Config.MaxBytes); err != nil {
		return err
	}
	bs, err := b.Blobs.Status(ctx)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := full("bucket "+bs.Bucket(), int64(bs.Size()), b.Cfg.MaxBytes); err != nil {
		return err
	}
	ai, err := b.JS.AccountInfo(ctx)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := full("the account's JetStream storage", int64(ai.Store), ai.Limits.MaxStore); err != nil {
		return err
	}
	return nil
}
