package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus/protocol"
)

// Layout defaults: what a zero LayoutConfig field means (and the CLI flags'
// defaults).
const (
	DefaultMaxAge        = 7 * 24 * time.Hour
	DefaultMaxBytes      = 2 << 30
	DefaultReplicas      = 1
	DefaultAckWait       = 30 * time.Second
	DefaultMaxDeliver    = 5
	DefaultMaxAckPending = 256
	DefaultWorkerTTL     = 30 * time.Second
	DefaultMaxQueue      = 1000
)

// LayoutConfig sizes the streams, buckets and consumers; zero fields take
// the Default* values.
type LayoutConfig struct {
	MaxAge   time.Duration // retention of stage inputs, events and blobs; default 7 days
	MaxBytes int64         // REEL stream and blobs bucket each; events, DLQ and jobs get a quarter; default 2 GiB
	Replicas int           // 1 embedded, 3 on a cluster
	Memory   bool          // memory storage (tests); default file

	AckWait       time.Duration // default 30s; workers heartbeat every AckWait/3
	MaxDeliver    int           // default 5
	MaxAckPending int           // whole fleet per stage, default 256
	WorkerTTL     time.Duration // worker heartbeat expiry, default 30s
	MaxQueue      int           // submissions refused beyond this many waiting jobs; default 1000, -1 = unlimited
}

func (c *LayoutConfig) setDefaults() {
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Replicas == 0 {
		c.Replicas = DefaultReplicas
	}
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = DefaultMaxDeliver
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = DefaultMaxAckPending
	}
	if c.WorkerTTL == 0 {
		c.WorkerTTL = DefaultWorkerTTL
	}
	if c.MaxQueue == 0 {
		c.MaxQueue = DefaultMaxQueue
	}
}

// Validate checks the configuration (after defaults).
func (c *LayoutConfig) Validate() error {
	switch {
	case c.MaxAge < time.Second:
		return fmt.Errorf("layout: max age %s is below 1s", c.MaxAge)
	case c.MaxBytes < 1<<20:
		return fmt.Errorf("layout: max bytes %d below 1 MiB", c.MaxBytes)
	case c.Replicas < 1 || c.Replicas > 5:
		return fmt.Errorf("layout: replicas %d outside 1..5", c.Replicas)
	case c.AckWait < 300*time.Millisecond:
		return fmt.Errorf("layout: ack wait %s below 300ms", c.AckWait)
	case c.MaxDeliver < 1:
		return fmt.Errorf("layout: max deliver %d < 1", c.MaxDeliver)
	}
	return nil
}

// reservedShares is what Setup reserves on disk, in units of MaxBytes:
// stream REEL and the blobs bucket one each; events, dead letters and the
// jobs bucket a quarter each (TestLayoutReservesStoreBytes holds it to
// Setup).
const reservedShares = 2.75

// StoreBytes is the disk space the layout reserves (after defaults): the
// server's JetStream disk limit must hold it.
func (c LayoutConfig) StoreBytes() int64 {
	c.setDefaults()
	if c.Memory {
		return 0
	}
	return int64(reservedShares * float64(c.MaxBytes))
}

// fitStore lowers MaxBytes so that StoreBytes fits maxStore.
func (c LayoutConfig) fitStore(maxStore int64) (LayoutConfig, bool) {
	if c.StoreBytes() <= maxStore {
		return c, false
	}
	c.MaxBytes = int64(float64(maxStore) / reservedShares)
	return c, true
}

func (c *LayoutConfig) storage() jetstream.StorageType {
	if c.Memory {
		return jetstream.MemoryStorage
	}
	return jetstream.FileStorage
}

// Layout gives access to the set-up streams and buckets.
type Layout struct {
	Cfg     LayoutConfig
	Stream  jetstream.Stream
	Events  jetstream.Stream
	DLQ     jetstream.Stream
	Jobs    jetstream.KeyValue
	Workers jetstream.KeyValue
	Blobs   jetstream.ObjectStore
}

// Setup creates or updates the streams and buckets (idempotent; every
// process calls it).
func Setup(ctx context.Context, js jetstream.JetStream, cfg LayoutConfig) (*Layout, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Layout{Cfg: cfg}
	var err error
	// Every stream keeps what the limits allow, whatever was acked (replay).
	limits := func(name, desc string, maxBytes int64, subjects ...string) jetstream.StreamConfig {
		return jetstream.StreamConfig{Name: name, Description: desc, Subjects: subjects,
			Retention: jetstream.LimitsPolicy, MaxAge: cfg.MaxAge, MaxBytes: maxBytes,
			Storage: cfg.storage(), Replicas: cfg.Replicas}
	}
	reel := limits(protocol.StreamName, "reel stage inputs and outputs (replayable)", cfg.MaxBytes,
		"reel.prompt.*", "reel.text.*", "reel.latent.*.*", "reel.frames.*.*", "reel.video.*")
	reel.Metadata = cfg.metadata()
	reel.Duplicates = min(2*time.Minute, cfg.MaxAge) // the server's default, which must not exceed MaxAge
	// Every subject of REEL is write-once, and the server enforces it for
	// every publisher (a second `nats pub` on a prompt subject is refused
	// with "maximum messages per subject exceeded"). Per-subject discard-new
	// needs the stream's discard policy to be new as well: a full stream
	// then refuses new jobs' messages instead of evicting the inputs of
	// jobs still in flight (docs/protocol.md, "Write-once").
	reel.MaxMsgsPerSubject = 1
	reel.DiscardNewPerSubject = true
	// Discard new, never old: the oldest messages are running or queued
	// jobs' inputs (a full stream that dropped them left jobs hanging);
	// intake refuses new jobs before the stream fills (Bus.CheckRoom).
	reel.Discard = jetstream.DiscardNew
	streams := []struct {
		into *jetstream.Stream
		cfg  jetstream.StreamConfig
	}{
		{&l.Stream, reel},
		{&l.Events, limits(protocol.EventsStreamName, "reel job progress events", cfg.MaxBytes/4, protocol.EventsPrefix+".*")},
		{&l.DLQ, limits(protocol.DLQStreamName, "dead letters: max-deliveries and terminated advisories of stream REEL", cfg.MaxBytes/4,
			"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+protocol.StreamName+".*",
			"$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED."+protocol.StreamName+".*")},
	}
	for _, st := range streams {
		if *st.into, err = js.CreateOrUpdateStream(ctx, st.cfg); err != nil {
			return nil, fmt.Errorf("stream %s: %w", st.cfg.Name, err)
		}
	}
	l.Jobs, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      protocol.JobsBucket,
		Description: "reel job records",
		History:     4,
		TTL:         cfg.MaxAge,
		MaxBytes:    cfg.MaxBytes / 4,
		Storage:     cfg.storage(),
		Replicas:    cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", protocol.JobsBucket, err)
	}
	l.Workers, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      protocol.WorkersBucket,
		Description: "reel stage worker heartbeats",
		TTL:         cfg.WorkerTTL,
		Storage:     jetstream.MemoryStorage,
		Replicas:    cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", protocol.WorkersBucket, err)
	}
	l.Blobs, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      protocol.BlobsBucket,
		Description: "reel videos, previews and claim-checked message bodies",
		TTL:         cfg.MaxAge,
		MaxBytes:    cfg.MaxBytes,
		Storage:     cfg.storage(),
		Replicas:    cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("object store %s: %w", protocol.BlobsBucket, err)
	}
	return l, nil
}

const (
	metaAckWait       = "reel.ack_wait"
	metaMaxDeliver    = "reel.max_deliver"
	metaMaxAckPending = "reel.max_ack_pending"
	metaWorkerTTL     = "reel.worker_ttl"
	metaMaxQueue      = "reel.max_queue"
)

// metadata records the consumer settings on stream REEL, so that every
// process attaching later uses the same ones.
func (c *LayoutConfig) metadata() map[string]string {
	return map[string]string{
		metaAckWait:       c.AckWait.String(),
		metaMaxDeliver:    strconv.Itoa(c.MaxDeliver),
		metaMaxAckPending: strconv.Itoa(c.MaxAckPending),
		metaWorkerTTL:     c.WorkerTTL.String(),
		metaMaxQueue:      strconv.Itoa(c.MaxQueue),
	}
}

// Attach binds to an existing layout without changing it, reading its
// settings from the streams (so a client or stage never overrides what the
// server set up). If the layout does not exist yet, it is set up with
// fallback.
func Attach(ctx context.Context, js jetstream.JetStream, fallback LayoutConfig) (*Layout, error) {
	s, err := js.Stream(ctx, protocol.StreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return Setup(ctx, js, fallback)
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", protocol.StreamName, err)
	}
	sc := s.CachedInfo().Config
	cfg := LayoutConfig{MaxAge: sc.MaxAge, MaxBytes: sc.MaxBytes, Replicas: sc.Replicas, Memory: sc.Storage == jetstream.MemoryStorage}
	md := sc.Metadata
	cfg.AckWait, _ = time.ParseDuration(md[metaAckWait])
	cfg.WorkerTTL, _ = time.ParseDuration(md[metaWorkerTTL])
	cfg.MaxDeliver, _ = strconv.Atoi(md[metaMaxDeliver])
	cfg.MaxAckPending, _ = strconv.Atoi(md[metaMaxAckPending])
	cfg.MaxQueue, _ = strconv.Atoi(md[metaMaxQueue])
	cfg.setDefaults()
	l := &Layout{Cfg: cfg, Stream: s}
	if l.Events, err = js.Stream(ctx, protocol.EventsStreamName); err != nil {
		return Setup(ctx, js, cfg)
	}
	if l.DLQ, err = js.Stream(ctx, protocol.DLQStreamName); err != nil {
		return Setup(ctx, js, cfg)
	}
	if l.Jobs, err = js.KeyValue(ctx, protocol.JobsBucket); err != nil {
		return Setup(ctx, js, cfg)
	}
	if l.Workers, err = js.KeyValue(ctx, protocol.WorkersBucket); err != nil {
		return Setup(ctx, js, cfg)
	}
	if l.Blobs, err = js.ObjectStore(ctx, protocol.BlobsBucket); err != nil {
		return Setup(ctx, js, cfg)
	}
	return l, nil
}

// Consumer creates or updates the durable pull consumer of a stage, shared
// by all of the stage's workers.
func (l *Layout) Consumer(ctx context.Context, stage string) (jetstream.Consumer, error) {
	filter, err := protocol.ConsumerFilter(stage)
	if err != nil {
		return nil, err
	}
	c, err := l.Stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       protocol.ConsumerName(stage),
		Description:   "reel stage " + stage,
		FilterSubject: filter,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       l.Cfg.AckWait,
		MaxDeliver:    l.Cfg.MaxDeliver,
		MaxAckPending: l.Cfg.MaxAckPending,
		ReplayPolicy:  jetstream.ReplayInstantPolicy,
		Replicas:      l.Cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", protocol.ConsumerName(stage), err)
	}
	return c, nil
}

// DLQConsumer is the durable consumer that turns dead-letter advisories into
// failed jobs.
func (l *Layout) DLQConsumer(ctx context.Context) (jetstream.Consumer, error) {
	c, err := l.DLQ.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       "reel-deadletters",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       l.Cfg.AckWait,
		MaxDeliver:    l.Cfg.MaxDeliver,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Replicas:      l.Cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer reel-deadletters: %w", err)
	}
	return c, nil
}

// Durable consumers of the job-record projector (orchestrator.Projector):
// one on the prompts of stream REEL, one on REEL_EVENTS, each shared by
// every process hosting a projector.
const (
	ProjectorPromptsConsumer = "reel-projector-prompts"
	ProjectorEventsConsumer  = "reel-projector-events"
	// projectorAckWait is short: the projector takes one message at a time
	// (MaxAckPending 1, to fold in stream order), so a host that died
	// holding one stalls every job's record for this long.
	projectorAckWait = 5 * time.Second
)

// ProjectorPrompts is the projector's durable consumer of prompt messages.
func (l *Layout) ProjectorPrompts(ctx context.Context) (jetstream.Consumer, error) {
	return l.projectorConsumer(ctx, l.Stream, ProjectorPromptsConsumer, protocol.PromptSubject("*"))
}

// ProjectorEvents is the projector's durable consumer of job events.
func (l *Layout) ProjectorEvents(ctx context.Context) (jetstream.Consumer, error) {
	return l.projectorConsumer(ctx, l.Events, ProjectorEventsConsumer, protocol.EventSubject("*"))
}

func (l *Layout) projectorConsumer(ctx context.Context, s jetstream.Stream, name, filter string) (jetstream.Consumer, error) {
	c, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "reel job-record projector",
		FilterSubject: filter,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       min(projectorAckWait, l.Cfg.AckWait),
		MaxAckPending: 1, // in stream order, one at a time, across all hosts
		ReplayPolicy:  jetstream.ReplayInstantPolicy,
		Replicas:      l.Cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", name, err)
	}
	return c, nil
}

// IsNotFound reports a missing message/key/object.
func IsNotFound(err error) bool {
	return errors.Is(err, jetstream.ErrMsgNotFound) || errors.Is(err, jetstream.ErrKeyNotFound) ||
		errors.Is(err, jetstream.ErrObjectNotFound)
}
