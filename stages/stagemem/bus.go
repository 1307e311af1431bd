package stagemem

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"sync"
	"time"

	"github.com/reel-video/reel/bus/protocol"
)

// Bus is an in-memory stream of stage messages, a blobs bucket and the
// events stages report. The zero value is not usable; call New. It is safe
// for concurrent use.
type Bus struct {
	mu        sync.Mutex
	msgs      []message      // stream order
	bySubject map[string]int // subject -> index in msgs (write-once)
	blobs     map[string]Blob
	events    []protocol.Event
	wake      chan struct{} // closed and replaced on every publish
	now       func() time.Time
}

type message struct {
	subject string
	data    []byte
}

// Blob is a stored object.
type Blob struct {
	Data []byte
	Meta map[string]string
}

// New returns an empty bus.
func New() *Bus {
	return &Bus{bySubject: map[string]int{}, blobs: map[string]Blob{}, wake: make(chan struct{}), now: time.Now}
}

// Publish writes env on a write-once subject, as bus.PublishOnce does: the
// schema version is set, and a second publish on a subject is dropped and
// reported as a duplicate. An ended ctx refuses the publish.
func (b *Bus) Publish(ctx context.Context, subject string, env *protocol.Envelope) (duplicate bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("publish %s: %w", subject, context.Cause(ctx))
	}
	env.V = protocol.SchemaVersion
	data, err := env.Marshal()
	if err != nil {
		return false, fmt.Errorf("publish %s: %w", subject, err)
	}
	return b.PublishRaw(subject, data), nil
}

// PublishRaw writes data as is (a foreign or malformed message) on a
// write-once subject; it reports whether the subject already held one.
func (b *Bus) PublishRaw(subject string, data []byte) (duplicate bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.bySubject[subject]; ok {
		return true
	}
	b.bySubject[subject] = len(b.msgs)
	b.msgs = append(b.msgs, message{subject: subject, data: bytes.Clone(data)})
	close(b.wake)
	b.wake = make(chan struct{})
	return false
}

// Has reports whether subject holds its message.
func (b *Bus) Has(subject string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.bySubject[subject]
	return ok
}

// Raw returns the bytes on subject.
func (b *Bus) Raw(subject string) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i, ok := b.bySubject[subject]
	if !ok {
		return nil, false
	}
	return bytes.Clone(b.msgs[i].data), true
}

// Message decodes the message on subject, its claim resolved from the
// blobs bucket; a subject without one is an error wrapping
// protocol.ErrMissing.
func (b *Bus) Message(subject string) (*protocol.Envelope, error) {
	data, ok := b.Raw(subject)
	if !ok {
		return nil, fmt.Errorf("%w: no message on %s", protocol.ErrMissing, subject)
	}
	return b.decode(data)
}

// Subjects lists the subjects holding a message, in stream order.
func (b *Bus) Subjects() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, len(b.msgs))
	for i, m := range b.msgs {
		out[i] = m.subject
	}
	return out
}

// decode unmarshals a message and resolves its claim check, as bus.Decode.
func (b *Bus) decode(data []byte) (*protocol.Envelope, error) {
	env, err := protocol.UnmarshalEnvelope(data)
	if err != nil || env.Claim == nil {
		return env, err
	}
	c := env.Claim
	if c.Bucket != protocol.BlobsBucket {
		return env, protocol.Malformedf("claim in unknown bucket %q", c.Bucket)
	}
	blob, err := b.Blob(c.Name)
	if err != nil {
		return env, fmt.Errorf("claim-checked body: %w", err)
	}
	sum := sha256.Sum256(blob.Data)
	if len(blob.Data) != c.Size || hex.EncodeToString(sum[:]) != c.SHA256 {
		return env, protocol.Malformedf("claim %s: size/sha256 mismatch", c.Name)
	}
	env.Body, env.Claim = blob.Data, nil
	return env, nil
}

// PutBlob stores the object read from r, replacing one of the same name (as
// the object store does). An ended ctx refuses it.
func (b *Bus) PutBlob(ctx context.Context, name string, r io.Reader, meta map[string]string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store %s: %w", name, context.Cause(ctx))
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("store %s: %w", name, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.blobs[name] = Blob{Data: data, Meta: maps.Clone(meta)}
	return nil
}

// Blob returns a stored object; a missing one is an error wrapping
// protocol.ErrMissing.
func (b *Bus) Blob(name string) (Blob, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bl, ok := b.blobs[name]
	if !ok {
		return Blob{}, fmt.Errorf("%w: %s is not in bucket %s", protocol.ErrMissing, name, protocol.BlobsBucket)
	}
	return Blob{Data: bytes.Clone(bl.Data), Meta: maps.Clone(bl.Meta)}, nil
}

// record appends an event, timed now when it carries no time (as the job
// store does).
func (b *Bus) record(ev protocol.Event) protocol.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ev.Time.IsZero() {
		ev.Time = b.now()
	}
	b.events = append(b.events, ev)
	return ev
}

// Events returns the events reported for job, in order.
func (b *Bus) Events(job string) []protocol.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []protocol.Event
	for _, ev := range b.events {
		if ev.Job == job {
			out = append(out, ev)
		}
	}
	return out
}
