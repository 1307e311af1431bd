package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages/worker"
)

// The API's own buckets: who owns a video, and which Idempotency-Key named
// which video (kept a day, as OpenAI and Stripe do).
const (
	OwnersBucket      = "reel-api-owners"
	IdempotencyBucket = "reel-api-idempotency"
	IdempotencyTTL    = 24 * time.Hour
)

// BusBackend is the Backend on a reel bus.
type BusBackend struct {
	b      *bus.Bus
	store  *orchestrator.Store
	owners jetstream.KeyValue
	idem   jetstream.KeyValue
}

// NewBusBackend attaches the API to the bus, creating its buckets when
// missing.
func NewBusBackend(ctx context.Context, b *bus.Bus, store *orchestrator.Store) (*BusBackend, error) {
	owners, err := b.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: OwnersBucket, Description: "reel API: owner (key id) of each video",
		TTL: b.Cfg.MaxAge, Replicas: b.Cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", OwnersBucket, err)
	}
	idem, err := b.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: IdempotencyBucket, Description: "reel API: Idempotency-Key → video",
		TTL: IdempotencyTTL, Replicas: b.Cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", IdempotencyBucket, err)
	}
	return &BusBackend{b: b, store: store, owners: owners, idem: idem}, nil
}

// Submit publishes the job's prompt through the orchestrator's submit path.
func (k *BusBackend) Submit(ctx context.Context, s Submission) error {
	_, err := k.store.Submit(ctx, s.Request, s.Settings, orchestrator.SubmitOptions{ID: s.ID})
	return err
}

// Remix publishes a remix through the orchestrator.
func (k *BusBackend) Remix(ctx context.Context, r orchestrator.RemixRequest) error {
	_, err := k.store.Remix(ctx, r)
	return err
}

// Extend publishes an extension through the orchestrator.
func (k *BusBackend) Extend(ctx context.Context, r orchestrator.ExtendRequest) error {
	_, err := k.store.Extend(ctx, r)
	return err
}

// Replay publishes a replay through the orchestrator.
func (k *BusBackend) Replay(ctx context.Context, r orchestrator.ReplayRequest) error {
	_, err := k.store.Replay(ctx, r)
	return err
}

// Job reads the job record.
func (k *BusBackend) Job(ctx context.Context, id string) (*orchestrator.Job, error) {
	return k.store.Get(ctx, id)
}

// Jobs lists the job records.
func (k *BusBackend) Jobs(ctx context.Context) ([]*orchestrator.Job, error) { return k.store.List(ctx) }

// Cancel cancels a job.
func (k *BusBackend) Cancel(ctx context.Context, id, reason string) error {
	return k.store.Cancel(ctx, id, reason)
}

// Delete cancels a job still running, then removes its stage messages,
// claim-checked bodies, outputs, events and finally its record (last, so
// that a stage still holding one of its messages sees it cancelled, not
// unknown).
func (k *BusBackend) Delete(ctx context.Context, j *orchestrator.Job) error {
	if !j.State.Terminal() {
		if err := k.store.Cancel(ctx, j.ID, "deleted"); err != nil && !errors.Is(err, orchestrator.ErrNotFound) {
			if cur, gerr := k.store.Get(ctx, j.ID); gerr != nil || !cur.State.Terminal() {
				return fmt.Errorf("delete %s: cancel: %w", j.ID, err)
			}
		}
	}
	id := j.ID
	subjects := []string{protocol.PromptSubject(id), protocol.TextSubject(id), protocol.LatentFilter(id),
		protocol.FramesFilter(id), protocol.VideoSubject(id)}
	for _, s := range subjects {
		if err := k.b.Stream.Purge(ctx, jetstream.WithPurgeSubject(s)); err != nil {
			return fmt.Errorf("delete %s: purge %s: %w", id, s, err)
		}
	}
	blobs := []string{protocol.VideoObject(id), protocol.PosterObject(id), protocol.GIFObject(id), "claim/" + protocol.TextSubject(id)}
	for i := range max(j.Settings.Chunks(), 0) {
		blobs = append(blobs, "claim/"+protocol.LatentSubject(id, i), "claim/"+protocol.FramesSubject(id, i))
	}
	for _, name := range blobs {
		if err := k.b.Blobs.Delete(ctx, name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return fmt.Errorf("delete %s: blob %s: %w", id, name, err)
		}
	}
	if err := k.b.Events.Purge(ctx, jetstream.WithPurgeSubject(protocol.EventSubject(id))); err != nil {
		return fmt.Errorf("delete %s: purge events: %w", id, err)
	}
	if err := k.b.Jobs.Purge(ctx, id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("delete %s: record: %w", id, err)
	}
	return k.Forget(ctx, id)
}

// Blob reads an output.
func (k *BusBackend) Blob(ctx context.Context, name string) ([]byte, error) {
	return k.b.GetBlob(ctx, name)
}

// Follow replays the job's events and follows new ones, through its first
// ending event.
func (k *BusBackend) Follow(ctx context.Context, id string, fn func(protocol.Event) bool) error {
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := k.store.Follow(fctx, id, func(ev protocol.Event) {
		if fctx.Err() == nil && !fn(ev) {
			cancel()
		}
	})
	if fctx.Err() != nil {
		return nil // the caller stopped, or ctx ended
	}
	return err
}

// Workers lists the live worker heartbeats.
func (k *BusBackend) Workers(ctx context.Context) ([]worker.WorkerInfo, error) {
	return worker.ListWorkers(ctx, k.b)
}

// ErrDisconnected is Ready's error while the NATS connection is down.
var ErrDisconnected = errors.New("not connected to NATS")

// Ready reports whether the connection is up.
func (k *BusBackend) Ready(context.Context) error {
	if st := k.b.NC.Status(); st != nats.CONNECTED {
		return fmt.Errorf("%w (%s)", ErrDisconnected, st)
	}
	return nil
}

// idemKey is the bucket key of an owner's Idempotency-Key: hashed, so any
// header value maps to a valid key and keys of two owners never collide.
func idemKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Claim binds an Idempotency-Key (already scoped to its owner) to a job.
func (k *BusBackend) Claim(ctx context.Context, key, job string) (string, bool, error) {
	name := idemKey(key)
	_, err := k.idem.Create(ctx, name, []byte(job))
	if err == nil {
		return job, true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return "", false, fmt.Errorf("idempotency key: %w", err)
	}
	e, err := k.idem.Get(ctx, name)
	if err != nil {
		return "", false, fmt.Errorf("idempotency key: %w", err)
	}
	return string(e.Value()), false, nil
}

// Release drops a claim.
func (k *BusBackend) Release(ctx context.Context, key string) error {
	return k.idem.Purge(ctx, idemKey(key))
}

// SetOwner records a job's owner.
func (k *BusBackend) SetOwner(ctx context.Context, job, owner string) error {
	if _, err := k.owners.Put(ctx, job, []byte(owner)); err != nil {
		return fmt.Errorf("owner of %s: %w", job, err)
	}
	return nil
}

// Owner returns a job's owner, "" when none was recorded.
func (k *BusBackend) Owner(ctx context.Context, job string) (string, error) {
	e, err := k.owners.Get(ctx, job)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("owner of %s: %w", job, err)
	}
	return string(e.Value()), nil
}

// Forget drops a job's owner.
func (k *BusBackend) Forget(ctx context.Context, job string) error {
	if err := k.owners.Purge(ctx, job); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("owner of %s: %w", job, err)
	}
	return nil
}
