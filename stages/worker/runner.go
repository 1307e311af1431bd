package worker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/pull"
	"github.com/rs/zerolog"
)

// Tracker is the job-state side the runner needs (orchestrator.Store).
type Tracker interface {
	Lookup(ctx context.Context, job string) (bus.JobStatus, error)
	Record(ctx context.Context, ev protocol.Event) error
	WatchEnded(ctx context.Context, fn func(job string, st protocol.State)) error
}

// AdmitRequest describes a message before it is taken.
type AdmitRequest struct {
	Stage    string
	Job      string
	Settings protocol.Settings
	Chunk    int
	Count    int
}

// Config configures a Runner.
type Config struct {
	Stage   string         // required
	Bus     *bus.Bus       // required
	Tracker Tracker        // required
	Handler stages.Handler // required

	Concurrency int           // worker slots in this process, default 1
	Worker      string        // worker id, default host-pid-stage-rand
	Heartbeat   time.Duration // InProgress interval, default AckWait/3
	RetryBase   time.Duration // first redelivery delay, default 1s (doubles, max RetryMax)
	RetryMax    time.Duration // default 30s
	AdmitDelay  time.Duration // delay when admission says retry later, default 2s

	// Admit is called before a message is processed and may block until
	// the request fits this worker (the runner keeps the message in
	// progress meanwhile, so waiting costs no delivery): JetStream counts
	// every nak against MaxDeliver, so admission naks (an error wrapping
	// stages.ErrRetryLater, with AdmitDelay) only to hand the message to a
	// worker that can take it now. Any other error fails the job
	// (terminated); ctx ending naks it. On success, release (may be nil)
	// is called once the handler returned, whatever the outcome.
	Admit func(ctx context.Context, req AdmitRequest) (release func(), err error)
	// Describe fills device and memory details into the worker heartbeat.
	Describe func(info *WorkerInfo)

	Middleware []stages.Middleware // outermost first; Recoverer and Logging are always applied
	Log        zerolog.Logger
}

func (c *Config) setDefaults() {
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
	if c.Worker == "" {
		host, _ := os.Hostname()
		c.Worker = fmt.Sprintf("%s-%d-%s-%04x", sanitize(host), os.Getpid(), c.Stage, rand.Uint32()&0xffff)
	}
	if c.Heartbeat == 0 && c.Bus != nil {
		c.Heartbeat = c.Bus.Cfg.AckWait / 3
	}
	if c.RetryBase == 0 {
		c.RetryBase = time.Second
	}
	if c.RetryMax == 0 {
		c.RetryMax = 30 * time.Second
	}
	if c.AdmitDelay == 0 {
		c.AdmitDelay = 2 * time.Second
	}
}

// Validate checks the configuration (after defaults).
func (c *Config) Validate() error {
	if _, err := protocol.InputKind(c.Stage); err != nil {
		return err
	}
	switch {
	case c.Bus == nil:
		return errors.New("runner: bus is required")
	case c.Tracker == nil:
		return errors.New("runner: tracker is required")
	case c.Handler == nil:
		return errors.New("runner: handler is required")
	case c.Concurrency < 1 || c.Concurrency > 256:
		return fmt.Errorf("runner: concurrency %d outside 1..256", c.Concurrency)
	case c.Heartbeat <= 0 || c.Heartbeat >= c.Bus.Cfg.AckWait:
		return fmt.Errorf("runner: heartbeat %s must be below ack wait %s", c.Heartbeat, c.Bus.Cfg.AckWait)
	}
	return nil
}

// Runner serves one stage.
type Runner struct {
	cfg     Config
	handler stages.Handler
	log     zerolog.Logger

	mu       sync.Mutex
	inflight map[string]map[*context.CancelCauseFunc]struct{} // job -> cancels
	stats    workerStats
	kick     chan struct{} // refresh the worker heartbeat now
}

// settleTimeout bounds the double ack of a handled message and the record
// of a failed job, which outlive the slot's context (shutdown).
const settleTimeout = 10 * time.Second

// ErrJobEnded is the cancel cause when a job is cancelled or failed elsewhere.
var ErrJobEnded = errors.New("job ended")

// New checks the config and builds a runner.
func New(cfg Config) (*Runner, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	mw := append([]stages.Middleware{stages.Recoverer(), stages.Logging()}, cfg.Middleware...)
	r := &Runner{
		cfg:      cfg,
		handler:  stages.Chain(cfg.Handler, mw...),
		log:      cfg.Log.With().Str("stage", cfg.Stage).Str("worker", cfg.Worker).Logger(),
		inflight: map[string]map[*context.CancelCauseFunc]struct{}{},
		kick:     make(chan struct{}, 1),
	}
	return r, nil
}

// Worker is this runner's worker id.
func (r *Runner) Worker() string { return r.cfg.Worker }

// Run serves until ctx ends; in-flight messages are then abandoned (nak'ed
// for another worker) and Run returns after every slot stopped. A slot whose
// consumer is lost attaches again; only a closed connection ends Run early,
// with an error.
func (r *Runner) Run(ctx context.Context) error {
	// Stopped while attaching is a stop like any other, not a failure (a
	// test or a process that ends at once cancelled ctx under these calls).
	cons, err := r.cfg.Bus.Consumer(ctx, r.cfg.Stage)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if err := r.cfg.Tracker.WatchEnded(ctx, r.jobEnded); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	r.log.Info().Int("concurrency", r.cfg.Concurrency).Str("consumer", protocol.ConsumerName(r.cfg.Stage)).Msg("stage serving")
	// A slot ends early only with an error (a closed connection): then the
	// whole runner stops, rather than serving on with fewer slots.
	sctx, stopAll := context.WithCancel(ctx)
	defer stopAll()
	var wg sync.WaitGroup
	wg.Go(func() { r.heartbeatWorker(sctx) })
	errs := make(chan error, r.cfg.Concurrency)
	for range r.cfg.Concurrency {
		wg.Go(func() {
			err := r.slot(sctx, cons)
			if err != nil {
				stopAll()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	r.deleteWorker()
	r.log.Info().Msg("stage stopped")
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// slot pulls and handles one message at a time until ctx ends. If its pull
// stops while ctx lives (the consumer was deleted or recreated, the iterator
// closed), it attaches to the stage's durable consumer again, as Run did at
// start-up, with backoff; only a closed connection ends it with an error.
func (r *Runner) slot(ctx context.Context, cons jetstream.Consumer) error {
	return pull.Serve(ctx, pull.Options{
		Name:     protocol.ConsumerName(r.cfg.Stage),
		Consumer: cons,
		Attach:   func(ctx context.Context) (jetstream.Consumer, error) { return r.cfg.Bus.Consumer(ctx, r.cfg.Stage) },
		Handle:   r.process,
		Log:      r.log,
	})
}

func (r *Runner) jobEnded(job string, st protocol.State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.inflight[job] {
		(*c)(fmt.Errorf("%w: %s", ErrJobEnded, st))
	}
}

func (r *Runner) register(job string, c *context.CancelCauseFunc) func() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inflight[job] == nil {
		r.inflight[job] = map[*context.CancelCauseFunc]struct{}{}
	}
	r.inflight[job][c] = struct{}{}
	r.stats.busy++
	r.stats.jobs = append(r.stats.jobs, job)
	// Other workers' admission reads busy slots from the heartbeat: tell
	// them now, not at the next tick.
	r.kickHeartbeat()
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.inflight[job], c)
		if len(r.inflight[job]) == 0 {
			delete(r.inflight, job)
		}
		r.stats.busy--
		for i, j := range r.stats.jobs {
			if j == job {
				r.stats.jobs = append(r.stats.jobs[:i], r.stats.jobs[i+1:]...)
				break
			}
		}
		r.kickHeartbeat()
	}
}

// process handles one message and settles it (ack / nak / term).
func (r *Runner) process(ctx context.Context, m jetstream.Msg) {
	delivered := 1
	if md, err := m.Metadata(); err == nil {
		delivered = int(md.NumDelivered)
	}
	job := bus.JobOf(m.Headers(), m.Subject())
	log := r.log.With().Str("job", job).Str("subject", m.Subject()).Logger()

	// A message for a job nobody submitted is refused here, at the first
	// stage that sees it, before anything waits on it (a forged chunk 0
	// would otherwise hold an encode slot for chunks that never come).
	st, err := r.cfg.Tracker.Lookup(ctx, job)
	if err != nil {
		r.retry(ctx, log, m, "", delivered, err)
		return
	}
	if !st.Known {
		r.refuse(log, m, fmt.Sprintf("%s: %s: unknown job %q (no record, no prompt)", r.cfg.Stage, m.Subject(), job))
		return
	}

	env, err := r.cfg.Bus.DecodeMsg(ctx, m.Subject(), m.Data())
	if err != nil {
		if ctx.Err() != nil {
			r.settle(log, m, "nak", m.Nak())
			return
		}
		if stages.IsPermanent(err) {
			r.fail(ctx, log, m, job, fmt.Sprintf("%s: %s: %v", r.cfg.Stage, m.Subject(), err))
			return
		}
		r.retry(ctx, log, m, job, delivered, err)
		return
	}
	if env.Job != job && job != "" {
		r.fail(ctx, log, m, job, fmt.Sprintf("%s: %s: envelope names job %q", r.cfg.Stage, m.Subject(), env.Job))
		return
	}
	// A chunk's index is in its subject and its envelope; trusting a
	// disagreeing envelope would write this chunk's output as another's and
	// leave the subject's chunk missing forever.
	if s, err := protocol.ParseSubject(m.Subject()); err == nil && s.Chunk >= 0 && s.Chunk != env.Chunk {
		r.fail(ctx, log, m, env.Job, fmt.Sprintf("%s: %s: envelope names chunk %d", r.cfg.Stage, m.Subject(), env.Chunk))
		return
	}
	job = env.Job
	if env.Count > 0 {
		log = log.With().Int("chunk", env.Chunk).Int("count", env.Count).Logger()
	}

	hctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	unregister := r.register(job, &cancel)
	defer unregister()

	if st.State.Terminal() {
		log.Debug().Str("state", string(st.State)).Msg("job already ended; dropping message")
		r.settle(log, m, "ack", m.Ack())
		return
	}
	if !st.Deadline.IsZero() {
		if time.Now().After(st.Deadline) {
			r.fail(ctx, log, m, job, fmt.Sprintf("%s: deadline %s exceeded", r.cfg.Stage, st.Deadline.Format(time.RFC3339)))
			return
		}
		var dcancel context.CancelFunc
		hctx, dcancel = context.WithDeadline(hctx, st.Deadline)
		defer dcancel()
	}
	d := &delivery{subject: m.Subject(), env: env, attempt: delivered, log: log, msg: m, r: r}
	defer d.steps.close() // also when the handler panics past the runner
	// The message stays in progress from here on, admission wait included.
	hbDone := make(chan struct{})
	stopHeartbeat := sync.OnceFunc(func() { close(hbDone) })
	defer stopHeartbeat()
	go func() {
		t := time.NewTicker(r.cfg.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-hbDone:
				return
			case <-t.C:
				d.Heartbeat()
			}
		}
	}()
	if r.cfg.Admit != nil {
		req := AdmitRequest{Stage: r.cfg.Stage, Job: job, Settings: env.Settings, Chunk: env.Chunk, Count: env.Count}
		release, err := r.cfg.Admit(hctx, req)
		if err != nil {
			switch {
			case errors.Is(context.Cause(hctx), ErrJobEnded):
				log.Info().Msg("job ended while waiting for admission")
				r.settle(log, m, "ack", m.Ack())
			case ctx.Err() != nil:
				r.settle(log, m, "nak", m.Nak())
			case errors.Is(hctx.Err(), context.DeadlineExceeded) && !st.Deadline.IsZero():
				r.fail(ctx, log, m, job, fmt.Sprintf("%s: deadline %s exceeded waiting for admission", r.cfg.Stage, st.Deadline.Format(time.RFC3339)))
			case stages.IsRetryLater(err):
				log.Info().Err(err).Msg("not admitted here; leaving it for another worker")
				r.settle(log, m, "nak", m.NakWithDelay(r.cfg.AdmitDelay))
			default:
				r.fail(ctx, log, m, job, fmt.Sprintf("%s: not admitted: %v", r.cfg.Stage, err))
			}
			return
		}
		if release != nil {
			defer release()
		}
	}

	d.Report(hctx, protocol.Event{Kind: protocol.EventStarted, Chunk: env.Chunk, Count: env.Count})
	err = r.handler.Handle(hctx, d)
	d.steps.close() // its step events are written before the message settles
	stopHeartbeat()

	switch {
	case err == nil:
		actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
		defer acancel()
		r.settle(log, m, "ack", m.DoubleAck(actx))
		r.count(true)
	case errors.Is(context.Cause(hctx), ErrJobEnded):
		log.Info().Msg("job ended while working on it; stopped")
		r.settle(log, m, "ack", m.Ack())
	case ctx.Err() != nil:
		log.Info().Msg("shutting down; message left for another worker")
		r.settle(log, m, "nak", m.Nak())
	case errors.Is(hctx.Err(), context.DeadlineExceeded) && !st.Deadline.IsZero():
		r.fail(ctx, log, m, job, fmt.Sprintf("%s: deadline %s exceeded", r.cfg.Stage, st.Deadline.Format(time.RFC3339)))
	case stages.IsRetryLater(err):
		r.settle(log, m, "nak", m.NakWithDelay(r.cfg.AdmitDelay))
	case stages.IsPermanent(err):
		r.fail(ctx, log, m, job, fmt.Sprintf("%s: %v", r.cfg.Stage, err))
	default:
		r.retry(ctx, log, m, job, delivered, err)
	}
}

// retry naks with backoff, or gives up after MaxDeliver.
func (r *Runner) retry(ctx context.Context, log zerolog.Logger, m jetstream.Msg, job string, delivered int, err error) {
	if delivered >= r.cfg.Bus.Cfg.MaxDeliver {
		r.fail(ctx, log, m, job, fmt.Sprintf("%s: gave up after %d deliveries: %v", r.cfg.Stage, delivered, err))
		return
	}
	delay := r.cfg.RetryBase << (delivered - 1)
	if delay > r.cfg.RetryMax || delay <= 0 {
		delay = r.cfg.RetryMax
	}
	log.Warn().Err(err).Int("delivery", delivered).Dur("retry_in", delay).Msg("will retry")
	if job != "" {
		_ = r.cfg.Tracker.Record(ctx, protocol.Event{Job: job, Stage: r.cfg.Stage, Kind: protocol.EventRetry, Error: err.Error(), Worker: r.cfg.Worker})
	}
	r.settle(log, m, "nak", m.NakWithDelay(delay))
	r.count(false)
}

// refuse terminates a message that belongs to no job; nothing is recorded,
// so that forged job ids cannot fill the job records.
func (r *Runner) refuse(log zerolog.Logger, m jetstream.Msg, reason string) {
	log.Warn().Str("reason", reason).Msg("refusing message; terminated")
	r.settle(log, m, "term", m.TermWithReason(reason))
	r.count(false)
}

// fail marks the job failed with the reason and terminates the message so it
// is never redelivered; the stage keeps serving.
func (r *Runner) fail(ctx context.Context, log zerolog.Logger, m jetstream.Msg, job, reason string) {
	log.Error().Str("reason", reason).Msg("failing job; message terminated")
	if job != "" {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
		defer cancel()
		if err := r.cfg.Tracker.Record(fctx, protocol.Event{Job: job, Stage: r.cfg.Stage, Kind: protocol.EventFailed, Error: reason, Worker: r.cfg.Worker}); err != nil {
			log.Error().Err(err).Msg("could not record the failure")
		}
	}
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	r.settle(log, m, "term", m.TermWithReason(strings.ReplaceAll(reason, "\n", " ")))
	r.count(false)
}

func (r *Runner) settle(log zerolog.Logger, _ jetstream.Msg, what string, err error) {
	if err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
		log.Warn().Err(err).Msg(what + " failed; the server will redeliver after ack wait")
	}
}

func (r *Runner) count(ok bool) {
	r.mu.Lock()
	if ok {
		r.stats.done++
	} else {
		r.stats.failed++
	}
	r.mu.Unlock()
	// The heartbeat is refreshed when the slot lets go of the message
	// (register's release), with these counts.
}

// kickHeartbeat refreshes the worker heartbeat soon (non-blocking,
// coalesced).
func (r *Runner) kickHeartbeat() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func sanitize(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "host"
	}
	return b.String()
}
