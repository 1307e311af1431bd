package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/rs/zerolog"
	"github.com/vmihailenco/msgpack/v5"
)

// process is one runner child: its pipes, the calls in flight and why it
// died. It is never restarted; Engine replaces a dead one.
type process struct {
	cmd   *exec.Cmd
	stdin *os.File
	log   zerolog.Logger
	tail  tail
	out   chan []byte // frames for the writer goroutine

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]*call

	dieOnce sync.Once
	cause   error         // first reason for dying (set once, before kill)
	exited  chan struct{} // closed when cmd.Wait returned
	dead    chan struct{} // closed when every pending call has been failed
	err     error         // why it died, with exit status and stderr tail; set before dead closes

	hello   Hello
	closing atomic.Bool // close was called: its death is no news
}

// call is one request in flight.
type call struct {
	op     string
	job    string
	events chan progress
	done   chan result
}

type result struct {
	body []byte
	err  error
}

// startProcess starts the command and completes hello within the timeout.
func startProcess(ctx context.Context, cfg Config) (*process, error) {
	if len(cfg.Command) == 0 {
		return nil, fmt.Errorf("%w: empty runner command", ErrStart)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStart, err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStart, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStart, err)
	}
	cmd := exec.Command(cfg.Command[0], cfg.Command[1:]...)
	cmd.Env = append(os.Environ(), cfg.Env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	// The child has its copies; the parent keeps only its own ends, so EOF
	// on stdout/stderr means the child (and anything it forked) is gone.
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("%w: %q: %w", ErrStart, cfg.Command[0], err)
	}
	p := &process{
		cmd: cmd, stdin: inW,
		log:     cfg.Log.With().Str("runner", cfg.Command[0]).Int("pid", cmd.Process.Pid).Logger(),
		out:     make(chan []byte, 16),
		pending: map[uint64]*call{},
		exited:  make(chan struct{}),
		dead:    make(chan struct{}),
	}
	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		copyStderr(errR, &p.tail, p.log, p.soleJob)
		errR.Close()
	}()
	go p.wait(outR)
	go p.writeLoop()
	go p.readLoop(outR, stderrDone)

	if err := p.doHello(ctx, cfg); err != nil {
		p.kill(err)
		<-p.dead
		return nil, fmt.Errorf("%w: %w", ErrStart, p.err)
	}
	p.log.Info().Str("model", p.hello.Manifest.Model).Str("device", p.hello.Capabilities.Device).
		Bool("fp8", p.hello.Capabilities.FP8).Msg("runner ready")
	go p.watchdog(cfg.PingInterval, cfg.PingTimeout)
	return p, nil
}

func (p *process) doHello(ctx context.Context, cfg Config) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.HelloTimeout)
	defer cancel()
	req := &helloRequest{request: request{Op: opHello}, Protocol: ProtocolVersion, Weights: cfg.Weights, Models: cfg.Models}
	err := p.call(ctx, req, &p.hello, nil)
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return fmt.Errorf("no hello answer within %s", cfg.HelloTimeout)
	case err != nil:
		return err
	case p.hello.Protocol != ProtocolVersion:
		return fmt.Errorf("%w: runner speaks protocol %d, want %d", ErrProtocol, p.hello.Protocol, ProtocolVersion)
	}
	return nil
}

// wait reaps the child; if something it forked still holds stdout open,
// the reader is unblocked after a grace period.
func (p *process) wait(outR *os.File) {
	p.cmd.Wait()
	close(p.exited)
	select {
	case <-p.dead:
	case <-time.After(time.Second):
		outR.Close()
	}
}

// kill records why the process must die (the first reason wins) and
// SIGKILLs it. Idempotent.
func (p *process) kill(why error) {
	p.dieOnce.Do(func() {
		p.mu.Lock()
		p.cause = why
		p.mu.Unlock()
		p.cmd.Process.Kill()
	})
}

func (p *process) writeLoop() {
	for {
		select {
		case b := <-p.out:
			if err := writeFrame(p.stdin, b); err != nil {
				// Usually the runner has exited: let the reader, which sees
				// what it printed last, name the cause; kill only a runner
				// that closed its stdin and lives on.
				select {
				case <-p.dead:
				case <-time.After(time.Second):
					p.kill(fmt.Errorf("writing to the runner's stdin: %w", err))
				}
				return
			}
		case <-p.dead:
			return
		}
	}
}

// readLoop dispatches frames to their calls until stdout ends, then fails
// every call still in flight with the reason.
func (p *process) readLoop(outR *os.File, stderrDone <-chan struct{}) {
	fr := newFrameReader(outR)
	var readErr error
	for {
		body, err := fr.next()
		if err != nil {
			readErr = err
			break
		}
		if err := p.dispatch(body); err != nil {
			readErr = err
			break
		}
	}
	if errors.Is(readErr, io.EOF) || errors.Is(readErr, os.ErrClosed) {
		readErr = errors.New("runner closed its stdout")
	}
	p.kill(readErr)
	<-p.exited
	select { // the last stderr lines usually say why
	case <-stderrDone:
	case <-time.After(time.Second):
	}
	p.mu.Lock()
	p.err = fmt.Errorf("%w; runner %s; stderr: %s", p.cause, p.cmd.ProcessState, p.tail.String())
	calls := p.pending
	p.pending = nil
	p.mu.Unlock()
	close(p.dead)
	p.stdin.Close()
	outR.Close()
	for _, c := range calls {
		c.done <- result{err: fmt.Errorf("%w: %s: %w", ErrTransient, c.op, p.err)}
	}
	lvl := zerolog.WarnLevel
	if p.closing.Load() {
		lvl = zerolog.InfoLevel
	}
	p.log.WithLevel(lvl).Err(p.err).Msg("runner stopped")
}

func (p *process) dispatch(body []byte) error {
	var r reply
	if err := protocol.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("%w: undecodable frame: %w; it began with %s", ErrProtocol, err, quote(body[:min(len(body), 64)]))
	}
	p.mu.Lock()
	c := p.pending[r.ID]
	final := r.OK || r.Error != nil
	if c != nil && final {
		delete(p.pending, r.ID)
	}
	p.mu.Unlock()
	switch {
	case c == nil: // a late answer to a call given up (cancelled, timed out)
		return nil
	case r.Error != nil:
		c.done <- result{err: &Error{Op: c.op, Kind: r.Error.Kind, Message: r.Error.Message}}
	case r.OK:
		c.done <- result{body: body}
	case r.Progress != nil:
		select { // never block the reader on a slow caller: progress is advisory
		case c.events <- *r.Progress:
		default:
		}
	default:
		return fmt.Errorf("%w: frame for id %d is neither an answer nor progress", ErrProtocol, r.ID)
	}
	return nil
}

// soleJob is the job of the call in flight if there is exactly one job.
func (p *process) soleJob() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	job := ""
	for _, c := range p.pending {
		switch {
		case c.job == "" || c.job == job:
		case job == "":
			job = c.job
		default:
			return ""
		}
	}
	return job
}

// call sends req and decodes the answer into out (nil: ignore fields).
// progress, if not nil, runs on the caller's goroutine for progress frames.
// When ctx ends first the runner is sent cancel and ctx's error returns.
func (p *process) call(ctx context.Context, req message, out any, onProgress func(step, total int)) error {
	h := req.head()
	c := &call{op: h.Op, job: jobFrom(ctx), events: make(chan progress, 64), done: make(chan result, 1)}
	h.Job = c.job
	p.mu.Lock()
	if p.pending == nil {
		p.mu.Unlock()
		<-p.dead
		return fmt.Errorf("%w: %s: %w", ErrTransient, h.Op, p.err)
	}
	p.nextID++
	h.ID = p.nextID
	p.pending[h.ID] = c
	p.mu.Unlock()
	body, err := msgpack.Marshal(req)
	if err != nil {
		p.forget(h.ID)
		return fmt.Errorf("runner: %s: encode: %w", h.Op, err)
	}
	select {
	case p.out <- body:
	case <-ctx.Done():
		p.forget(h.ID)
		return fmt.Errorf("runner: %s: %w", h.Op, ctx.Err())
	case <-p.dead:
		return (<-c.done).err
	}
	for {
		select {
		case ev := <-c.events:
			if onProgress != nil {
				onProgress(ev.Step, ev.Total)
			}
		case r := <-c.done:
			if r.err != nil {
				return r.err
			}
			if out == nil {
				return nil
			}
			if err := protocol.Unmarshal(r.body, out); err != nil {
				err = fmt.Errorf("%w: %s answer: %w", ErrProtocol, h.Op, err)
				p.kill(err)
				return err
			}
			return nil
		case <-ctx.Done():
			if p.forget(h.ID) {
				p.cancel(h.ID)
			}
			return fmt.Errorf("runner: %s: %w", h.Op, ctx.Err())
		}
	}
}

// forget drops a call from the pending set; false if it had already ended.
func (p *process) forget(id uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.pending[id]
	delete(p.pending, id)
	return ok
}

// cancel asks the runner to stop call id, without waiting for the answer.
func (p *process) cancel(id uint64) {
	p.mu.Lock()
	if p.pending == nil {
		p.mu.Unlock()
		return
	}
	p.nextID++
	req := &cancelRequest{request: request{ID: p.nextID, Op: opCancel}, Target: id}
	p.mu.Unlock()
	body, err := msgpack.Marshal(req)
	if err != nil {
		return
	}
	select {
	case p.out <- body:
	case <-p.dead:
	}
}

// watchdog pings the runner; one unanswered ping kills it as hung.
func (p *process) watchdog(every, timeout time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.dead:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := p.call(ctx, &healthRequest{request{Op: opHealth}}, nil, nil)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			p.kill(fmt.Errorf("runner did not answer health within %s (hung)", timeout))
			return
		}
	}
}

// alive reports whether the process has not died.
func (p *process) alive() bool {
	select {
	case <-p.dead:
		return false
	default:
		return true
	}
}

// close ends the runner: stdin closes (a runner exits on EOF), and after
// grace it is killed.
func (p *process) close(grace time.Duration) error {
	p.closing.Store(true)
	p.stdin.Close()
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.log.Warn().Dur("grace", grace).Msg("runner did not exit after stdin closed; killing it")
	}
	p.kill(errors.New("runner closed"))
	<-p.dead
	return nil
}
