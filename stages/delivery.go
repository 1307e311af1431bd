package stages

import (
	"context"
	"io"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/rs/zerolog"
)

// Delivery is one message being handled, as its handler sees it: the
// decoded envelope, where outputs and progress go, and the few reads of the
// bus a stage needs. The transport stays behind it.
type Delivery interface {
	// Envelope is the message, its body resolved (claim checks fetched).
	Envelope() *protocol.Envelope
	// Subject is the subject the message arrived on.
	Subject() string
	// Attempt is the delivery attempt, 1 for the first.
	Attempt() int
	// Log carries the job, stage, worker and chunk.
	Log() *zerolog.Logger
	Outputs
	Reads
}

// Outputs is what a handler writes.
type Outputs interface {
	// Publish writes a stage output on a write-once subject; a re-run
	// handler's duplicate is dropped. The envelope inherits the job,
	// settings and attempt of the delivered message where it leaves them
	// zero.
	Publish(ctx context.Context, subject string, env *protocol.Envelope) error
	// Report records a progress event for the job (and heartbeats).
	Report(ctx context.Context, ev protocol.Event)
	// Heartbeat tells the transport the message is still being worked on.
	Heartbeat()
	// PutBlob streams an object into the blobs bucket.
	PutBlob(ctx context.Context, name string, r io.Reader, meta map[string]string) error
}

// Reads are the bus reads a stage may make besides its own message.
type Reads interface {
	// Has reports whether a write-once subject already holds its message.
	Has(ctx context.Context, subject string) (bool, error)
	// Follow delivers the messages on the given subjects in stream order,
	// decoded and resolved, including those published later; Stop it when
	// done.
	Follow(ctx context.Context, subjects []string) (Follower, error)
}

// Follower yields followed messages in stream order.
type Follower interface {
	// Next blocks until the next message (or ctx ends). An envelope that
	// cannot be decoded is returned as an error wrapping
	// protocol.ErrMalformed, with the subject.
	Next(ctx context.Context) (subject string, env *protocol.Envelope, err error)
	// Stop releases the follower.
	Stop()
}
