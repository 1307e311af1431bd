package api

import (
	"context"
	"errors"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages/worker"
)

// Submission is one video request as the API hands it to the bus.
type Submission struct {
	ID       string // chosen by the API (so an Idempotency-Key can name it first)
	Request  protocol.Request
	Settings protocol.Settings
}

// Backend is everything the API needs from the bus. It is small on purpose:
// how a prompt becomes a job (today orchestrator.Store.Submit, later a plain
// prompt message that a projector turns into the record) stays behind it.
type Backend interface {
	// Submit publishes the prompt of a new job.
	Submit(ctx context.Context, s Submission) error
	// Job returns a job record; errors wrap orchestrator.ErrNotFound.
	Job(ctx context.Context, id string) (*orchestrator.Job, error)
	// Jobs returns every job record, newest first.
	Jobs(ctx context.Context) ([]*orchestrator.Job, error)
	// Remix, Extend and Replay make a new job linked to a finished one,
	// under the request's ID (errors wrap orchestrator.ErrNotFinished,
	// protocol.ErrMissing for inputs that aged out, or a
	// *protocol.FieldError).
	Remix(ctx context.Context, r orchestrator.RemixRequest) error
	Extend(ctx context.Context, r orchestrator.ExtendRequest) error
	Replay(ctx context.Context, r orchestrator.ReplayRequest) error
	// Cancel stops a job.
	Cancel(ctx context.Context, id, reason string) error
	// Delete removes a job's record, blobs and stream messages.
	Delete(ctx context.Context, j *orchestrator.Job) error
	// Blob reads an object of the blobs bucket; errors wrap
	// protocol.ErrMissing when it is gone.
	Blob(ctx context.Context, name string) ([]byte, error)
	// Follow calls fn with the job's events from the first one on, until fn
	// returns false or ctx ends.
	Follow(ctx context.Context, id string, fn func(protocol.Event) bool) error
	// Workers lists live stage workers.
	Workers(ctx context.Context) ([]worker.WorkerInfo, error)
	// Ready reports whether the bus is connected.
	Ready(ctx context.Context) error

	Owners
}

// Owners records who created a video and which Idempotency-Key named it.
type Owners interface {
	// Claim binds key to job unless key is already bound; it returns the
	// job the key names (job itself when the claim is new) and whether it
	// was new.
	Claim(ctx context.Context, key, job string) (string, bool, error)
	// Release drops a claim whose job could not be submitted.
	Release(ctx context.Context, key string) error
	// SetOwner records the owner of a job.
	SetOwner(ctx context.Context, job, owner string) error
	// Owner returns the owner of a job ("" for jobs created without a key,
	// e.g. by `reel submit`).
	Owner(ctx context.Context, job string) (string, error)
	// Forget drops a deleted job's owner.
	Forget(ctx context.Context, job string) error
}

// ErrNotFound is returned for a video that does not exist or that the
// caller's key does not own (the two are indistinguishable on purpose).
var ErrNotFound = errors.New("video not found")
