package stagemem

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages"
)

// ErrStopped is returned by a stopped follower's Next.
var ErrStopped = errors.New("stagemem: follower stopped")

// Follow follows the messages on subjects (NATS wildcards allowed; none =
// all) in stream order, from the start of the stream, those published later
// included: an ordered consumer's view.
func (b *Bus) Follow(ctx context.Context, subjects []string) (stages.Follower, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("follow %v: %w", subjects, context.Cause(ctx))
	}
	for _, s := range subjects {
		if !validFilter(s) {
			return nil, fmt.Errorf("follow %v: invalid filter subject %q", subjects, s)
		}
	}
	return &follower{b: b, filters: slices.Clone(subjects), stop: make(chan struct{})}, nil
}

type follower struct {
	b       *Bus
	filters []string
	pos     int // next index in the stream
	stop    chan struct{}
	once    sync.Once
}

// Next blocks until the next matching message, ctx ends or Stop.
func (f *follower) Next(ctx context.Context) (string, *protocol.Envelope, error) {
	for {
		select {
		case <-f.stop:
			return "", nil, ErrStopped
		default:
		}
		f.b.mu.Lock()
		var m *message
		for m == nil && f.pos < len(f.b.msgs) {
			if f.matches(f.b.msgs[f.pos].subject) {
				m = &f.b.msgs[f.pos]
			}
			f.pos++
		}
		wake := f.b.wake
		f.b.mu.Unlock()
		if m != nil {
			env, err := f.b.decode(m.data)
			if err != nil {
				return m.subject, nil, fmt.Errorf("%s: %w", m.subject, err)
			}
			return m.subject, env, nil
		}
		select {
		case <-ctx.Done():
			return "", nil, context.Cause(ctx)
		case <-f.stop:
			return "", nil, ErrStopped
		case <-wake:
		}
	}
}

// Stop releases the follower; a blocked Next returns ErrStopped.
func (f *follower) Stop() { f.once.Do(func() { close(f.stop) }) }

func (f *follower) matches(subject string) bool {
	if len(f.filters) == 0 {
		return true
	}
	return slices.ContainsFunc(f.filters, func(flt string) bool { return matchSubject(flt, subject) })
}

// matchSubject matches a subject against a NATS filter: "*" is one token,
// a final ">" one or more.
func matchSubject(filter, subject string) bool {
	ft, st := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, t := range ft {
		if t == ">" && i == len(ft)-1 {
			return len(st) > i
		}
		if i >= len(st) || (t != "*" && t != st[i]) {
			return false
		}
	}
	return len(ft) == len(st)
}

// validFilter rejects empty tokens and a ">" that is not last.
func validFilter(filter string) bool {
	ft := strings.Split(filter, ".")
	for i, t := range ft {
		if t == "" || (t == ">" && i != len(ft)-1) {
			return false
		}
	}
	return true
}
