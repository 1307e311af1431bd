package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/reel-video/reel/bus/protocol"
)

// Engine is a supervised runner: one live child at a time, replaced after
// it dies. Safe for concurrent use; the runner serves compute calls one at
// a time, in order of arrival.
type Engine struct {
	cfg      Config
	manifest protocol.Manifest
	stop     chan struct{} // closed by Close

	starting chan struct{} // a token held while (re)starting: one start at a time
	mu       sync.Mutex
	proc     *process  // nil or dead: start one before the next call
	hello    Hello     // of the current or last process
	notYet   time.Time // no restart before this (backoff)
	closed   bool
}

// Start launches the runner and waits for its hello (cfg.HelloTimeout). A
// runner that exits, hangs or breaks the protocol before hello gives an
// error wrapping ErrStart that names what happened (exit status, the last
// stderr lines, the start of stdout).
func Start(ctx context.Context, cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	p, err := startProcess(ctx, cfg)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, manifest: p.hello.Manifest, stop: make(chan struct{}), starting: make(chan struct{}, 1),
		proc: p, hello: p.hello}
	go e.restartAfterDeath(p)
	return e, nil
}

// Manifest is the model manifest of the runner's first hello (a restarted
// runner must state the same one).
func (e *Engine) Manifest() protocol.Manifest { return e.manifest }

// Hello is the latest runner's hello answer (capabilities, memory at start).
func (e *Engine) Hello() Hello {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.hello
}

// PID is the process id of the live runner, or 0 when none is running.
func (e *Engine) PID() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.proc == nil || !e.proc.alive() {
		return 0
	}
	return e.proc.cmd.Process.Pid
}

// restartAfterDeath starts the next runner as soon as p dies and the
// backoff allows, so a redelivered message finds a warm runner.
func (e *Engine) restartAfterDeath(p *process) {
	select {
	case <-p.dead:
	case <-e.stop:
		return
	}
	e.mu.Lock()
	e.notYet = time.Now().Add(e.cfg.Backoff.NextBackOff())
	e.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-e.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer cancel()
	if _, err := e.process(ctx); err != nil && !errors.Is(err, ErrClosed) && ctx.Err() == nil {
		e.cfg.Log.Error().Err(err).Msg("runner restart failed; the next call retries")
	}
}

// process returns the live runner, starting one (after the backoff delay)
// if the last one died.
func (e *Engine) process(ctx context.Context) (*process, error) {
	if p, ok := e.live(); ok {
		return p, nil
	}
	select { // wait for a start in progress, but no longer than the caller
	case e.starting <- struct{}{}:
		defer func() { <-e.starting }()
	case <-ctx.Done():
		return nil, fmt.Errorf("runner: waiting for the runner to start: %w", ctx.Err())
	}
	if p, ok := e.live(); ok {
		return p, nil
	}
	e.mu.Lock()
	closed, wait := e.closed, time.Until(e.notYet)
	e.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, fmt.Errorf("runner: waiting to restart: %w", ctx.Err())
		case <-e.stop:
			return nil, ErrClosed
		}
	}
	p, err := startProcess(ctx, e.cfg)
	if err == nil && p.hello.Manifest.Digest != e.manifest.Digest {
		p.close(e.cfg.StopTimeout)
		err = fmt.Errorf("%w: restarted runner serves weights %s, not %s", ErrStart,
			p.hello.Manifest.Digest, e.manifest.Digest)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		e.notYet = time.Now().Add(e.cfg.Backoff.NextBackOff())
		return nil, fmt.Errorf("%w: %w", ErrTransient, err)
	}
	if e.closed {
		p.close(e.cfg.StopTimeout)
		return nil, ErrClosed
	}
	e.proc, e.hello = p, p.hello
	e.cfg.Log.Info().Int("pid", p.cmd.Process.Pid).Msg("runner restarted")
	go e.restartAfterDeath(p)
	return p, nil
}

func (e *Engine) live() (*process, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.proc != nil && e.proc.alive() {
		return e.proc, true
	}
	return nil, false
}

// do runs one call on the live runner; a successful call resets the
// restart backoff.
func (e *Engine) do(ctx context.Context, req message, out any, onProgress func(step, total int)) error {
	p, err := e.process(ctx)
	if err != nil {
		return err
	}
	if err := p.call(ctx, req, out, onProgress); err != nil {
		return err
	}
	e.mu.Lock()
	e.cfg.Backoff.Reset()
	e.mu.Unlock()
	return nil
}

// Close stops the runner (stdin EOF, then SIGKILL after cfg.StopTimeout)
// and fails later calls with ErrClosed.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.stop)
	e.mu.Unlock()
	e.starting <- struct{}{} // a start in progress ends (it sees closed or stop) first
	defer func() { <-e.starting }()
	e.mu.Lock()
	p := e.proc
	e.mu.Unlock()
	if p != nil {
		return p.close(e.cfg.StopTimeout)
	}
	return nil
}
