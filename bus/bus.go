package bus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/rs/zerolog"
)

// JobOf is the job a stage message belongs to: the job token of its
// subject. The Reel-Job header is only a fallback for a subject that names
// no job: a header is whatever the publisher wrote, while the subject is
// what permissions and the stream's per-subject limits are enforced on, so
// it must never override the subject. "" when neither names a job.
func JobOf(h nats.Header, subject string) string {
	if s, err := protocol.ParseSubject(subject); err == nil {
		return s.Job
	}
	if job := h.Get(protocol.HeaderJob); protocol.ValidJobID(job) == nil {
		return job
	}
	return ""
}

// Bus is a connection plus the set-up layout: what stages and clients use.
type Bus struct {
	*Conn
	*Layout
	claimAt   int
	chunkSize uint32
}

// Open connects and attaches to the layout (setting it up with lc only if
// it does not exist yet).
func Open(ctx context.Context, cc ConnectConfig, lc LayoutConfig, log zerolog.Logger) (*Bus, error) {
	return open(ctx, cc, lc, log, Attach)
}

// Provision connects and creates or updates the layout with lc (servers).
func Provision(ctx context.Context, cc ConnectConfig, lc LayoutConfig, log zerolog.Logger) (*Bus, error) {
	return open(ctx, cc, lc, log, Setup)
}

func open(ctx context.Context, cc ConnectConfig, lc LayoutConfig, log zerolog.Logger,
	layout func(context.Context, jetstream.JetStream, LayoutConfig) (*Layout, error)) (*Bus, error) {
	if s, ok := cc.InProcess.(*Server); ok {
		lc = s.Fit(lc) // the embedded server's disk limit is known here
	}
	// During a leader election (or while a node restarts) the JetStream API
	// answers "not available" or times out for a few seconds: ride through
	// it, within ctx.
	var b *Bus
	err := OpenRetry.Do(ctx, log, "nats: open", func(ctx context.Context) error {
		conn, err := Connect(ctx, cc, log)
		if err != nil {
			return err
		}
		lay, err := layout(ctx, conn.JS, lc)
		if err != nil {
			conn.NC.Close()
			return err
		}
		b = New(conn, lay)
		return nil
	})
	return b, err
}

// New wraps an existing connection and layout.
func New(conn *Conn, lay *Layout) *Bus {
	mp := int(conn.MaxPayload())
	cs := uint32(128 << 10)
	if mp > 0 && uint32(mp/2) < cs {
		cs = uint32(mp / 2)
	}
	return &Bus{Conn: conn, Layout: lay, claimAt: ClaimThreshold(mp), chunkSize: cs}
}

// ClaimThreshold is the body size above which a body goes to the object
// store: three quarters of max_payload, leaving room for the envelope and
// headers.
func ClaimThreshold(maxPayload int) int {
	if maxPayload <= 0 {
		maxPayload = DefaultMaxPayload
	}
	return maxPayload * 3 / 4
}

// PublishOnce publishes env on a write-once subject. If the subject already
// holds a message (a redelivered or re-run handler), nothing is added and
// duplicate is true. Large bodies are claim-checked first.
func (b *Bus) PublishOnce(ctx context.Context, subject string, env *protocol.Envelope) (duplicate bool, err error) {
	return b.PublishOnceWith(ctx, subject, env, nil)
}

// PublishOnceWith is PublishOnce with extra headers (a prompt's
// Reel-Deadline).
func (b *Bus) PublishOnceWith(ctx context.Context, subject string, env *protocol.Envelope, extra nats.Header) (duplicate bool, err error) {
	env.V = protocol.SchemaVersion
	if len(env.Body) > b.claimAt {
		if err := b.claim(ctx, subject, env); err != nil {
			return false, err
		}
	}
	data, err := env.Marshal()
	if err != nil {
		return false, fmt.Errorf("publish %s: %w", subject, err)
	}
	m := nats.NewMsg(subject)
	m.Data = data
	for k, vs := range extra {
		m.Header[k] = vs
	}
	m.Header.Set(protocol.HeaderJob, env.Job)
	m.Header.Set(protocol.HeaderStage, env.Stage)
	m.Header.Set(protocol.HeaderSchema, strconv.Itoa(protocol.SchemaVersion))
	if env.Count > 0 {
		m.Header.Set(protocol.HeaderChunk, strconv.Itoa(env.Chunk))
	}
	for attempt := 0; ; attempt++ {
		ack, err := b.JS.PublishMsg(ctx, m, jetstream.WithMsgID(subject), jetstream.WithExpectLastSequencePerSubject(0))
		if err == nil {
			return ack.Duplicate, nil
		}
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) {
			switch apiErr.ErrorCode {
			case jetstream.JSErrCodeStreamWrongLastSequence:
				return true, nil // the subject already holds its message
			case errCodeStoreFailed:
				// The stream's own write-once rule (one message per
				// subject, discard new) refused it: same verdict.
				if strings.Contains(apiErr.Description, perSubjectLimit) {
					return true, nil
				}
			case jetstream.JSErrCodeStreamWrongLastSequenceConstant, errCodeDuplicateInProcess:
				// A clustered stream answers a publish racing another on
				// the same subject (two workers on a redelivered message)
				// with "in process" instead of a verdict: wait for the
				// other write to commit and ask again.
				if attempt < inProcessRetries {
					select {
					case <-ctx.Done():
						return false, fmt.Errorf("publish %s: %w", subject, ctx.Err())
					case <-time.After(time.Duration(20<<attempt) * time.Millisecond):
					}
					continue
				}
			}
		}
		return false, fmt.Errorf("publish %s: %w", subject, err)
	}
}

const (
	// errCodeDuplicateInProcess is JSStreamDuplicateMessageConflict (server
	// 2.11+): a message with the same Nats-Msg-Id is still being stored.
	errCodeDuplicateInProcess jetstream.ErrorCode = 10158
	// errCodeStoreFailed is JSStreamStoreFailedF, the generic "could not
	// store" code; perSubjectLimit is its description when the per-subject
	// limit refused the message (nats-server's ErrMaxMsgsPerSubject).
	errCodeStoreFailed jetstream.ErrorCode = 10077
)

const (
	inProcessRetries = 5 // 20 ms doubling: 620 ms in all
	perSubjectLimit  = "maximum messages per subject exceeded"
)

func (b *Bus) claim(ctx context.Context, subject string, env *protocol.Envelope) error {
	sum := sha256.Sum256(env.Body)
	c := &protocol.Claim{Bucket: protocol.BlobsBucket, Name: "claim/" + subject, Size: len(env.Body), SHA256: hex.EncodeToString(sum[:])}
	if info, err := b.Blobs.GetInfo(ctx, c.Name); err == nil && info.Metadata["sha256"] == c.SHA256 {
		env.Body, env.Claim = nil, c // identical body already stored by an earlier attempt
		return nil
	}
	err := b.PutBlob(ctx, c.Name, env.Body, map[string]string{"sha256": c.SHA256, "job": env.Job})
	if err != nil {
		return fmt.Errorf("claim check %s: %w", c.Name, err)
	}
	env.Body, env.Claim = nil, c
	return nil
}

// Resolve replaces a claim with the stored body.
func (b *Bus) Resolve(ctx context.Context, env *protocol.Envelope) error {
	if env.Claim == nil {
		return nil
	}
	c := env.Claim
	if c.Bucket != protocol.BlobsBucket {
		return protocol.Malformedf("claim in unknown bucket %q", c.Bucket)
	}
	data, err := b.Blobs.GetBytes(ctx, c.Name)
	if IsNotFound(err) {
		return fmt.Errorf("%w: claim-checked body %s is not in bucket %s (retention %s)", protocol.ErrMissing, c.Name, c.Bucket, b.Cfg.MaxAge)
	}
	if err != nil {
		return fmt.Errorf("claim %s: %w", c.Name, err)
	}
	sum := sha256.Sum256(data)
	if len(data) != c.Size || hex.EncodeToString(sum[:]) != c.SHA256 {
		return protocol.Malformedf("claim %s: size/sha256 mismatch", c.Name)
	}
	env.Body, env.Claim = data, nil
	return nil
}

// Decode unmarshals a stage message and resolves its claim.
func (b *Bus) Decode(ctx context.Context, data []byte) (*protocol.Envelope, error) {
	env, err := protocol.UnmarshalEnvelope(data)
	if err != nil {
		return env, err
	}
	return env, b.Resolve(ctx, env)
}

// LastMsg returns the message on a subject of stream REEL.
func (b *Bus) LastMsg(ctx context.Context, subject string) (*jetstream.RawStreamMsg, error) {
	m, err := b.Stream.GetLastMsgForSubject(ctx, subject)
	if IsNotFound(err) {
		return nil, fmt.Errorf("%w: no message on %s in stream %s (retention %s)", protocol.ErrMissing, subject, protocol.StreamName, b.Cfg.MaxAge)
	}
	return m, err
}

// PutBlob stores data in the blobs bucket, in chunks that fit max_payload.
func (b *Bus) PutBlob(ctx context.Context, name string, data []byte, meta map[string]string) error {
	return b.PutBlobFrom(ctx, name, bytes.NewReader(data), meta)
}

// PutBlobFrom streams r into the blobs bucket, in chunks that fit
// max_payload, without holding the whole object in memory.
func (b *Bus) PutBlobFrom(ctx context.Context, name string, r io.Reader, meta map[string]string) error {
	_, err := b.Blobs.Put(ctx, jetstream.ObjectMeta{
		Name:     name,
		Metadata: meta,
		Opts:     &jetstream.ObjectMetaOptions{ChunkSize: b.chunkSize},
	}, r)
	if err != nil {
		return fmt.Errorf("store %s: %w", name, err)
	}
	return nil
}

// GetBlobTo streams an object from the blobs bucket into w, without holding
// it in memory, and returns its size. The object store checks the digest it
// recorded when the object was put.
func (b *Bus) GetBlobTo(ctx context.Context, name string, w io.Writer) (int64, error) {
	r, err := b.Blobs.Get(ctx, name)
	if IsNotFound(err) {
		return 0, fmt.Errorf("%w: %s is not in bucket %s (retention %s)", protocol.ErrMissing, name, protocol.BlobsBucket, b.Cfg.MaxAge)
	}
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", name, err)
	}
	defer r.Close()
	n, err := io.Copy(w, r)
	if err != nil {
		return n, fmt.Errorf("get %s: %w", name, err)
	}
	return n, nil
}

// GetBlob reads an object from the blobs bucket.
func (b *Bus) GetBlob(ctx context.Context, name string) ([]byte, error) {
	data, err := b.Blobs.GetBytes(ctx, name)
	if IsNotFound(err) {
		return nil, fmt.Errorf("%w: %s is not in bucket %s (retention %s)", protocol.ErrMissing, name, protocol.BlobsBucket, b.Cfg.MaxAge)
	}
	return data, err
}
