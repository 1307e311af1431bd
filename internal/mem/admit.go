package mem

import (
	"errors"
	"fmt"
	"sync"
)

// ErrRetryLater means the request does not fit this worker now: its budget
// is too small but another worker's is not, or requests already in flight
// here hold the room. The stage runner maps it onto NakWithDelay (its own
// stages.ErrRetryLater), so another worker, or this one later, takes it.
var ErrRetryLater = errors.New("mem: does not fit now, retry later")

// ErrTooBig means no worker can take the request: it needs more than the
// largest budget of any worker. The job fails with the message instead of a
// worker being killed trying.
var ErrTooBig = errors.New("mem: larger than every worker's budget")

// Check decides whether a worker takes a request with estimate est.
// budget is this worker's; held is what requests already running here add
// on top of the resident engine (the sum of their Estimate.Transient);
// largest is the largest budget among this stage's live workers, from their
// heartbeats (0 when unknown: this worker's budget is then the largest).
//
// It returns nil (take it), an error wrapping ErrRetryLater, or one wrapping
// ErrTooBig whose text reads "needs X, the largest budget is Y".
func Check(est Estimate, budget, held, largest int64) error {
	largest = max(largest, budget)
	if est.Peak > largest {
		return fmt.Errorf("%w: %s needs %s, the largest budget is %s", ErrTooBig, est.What, FormatSize(est.Peak), FormatSize(largest))
	}
	if est.Peak > budget {
		return fmt.Errorf("%w: %s needs %s, this worker's budget is %s (another worker has %s)", ErrRetryLater,
			est.What, FormatSize(est.Peak), FormatSize(budget), FormatSize(largest))
	}
	if est.Peak+held > budget {
		return fmt.Errorf("%w: %s needs %s, %s of this worker's %s is held by running requests", ErrRetryLater,
			est.What, FormatSize(est.Peak), FormatSize(held), FormatSize(budget))
	}
	return nil
}

// Gate applies Check for a process that runs several requests at once, and
// keeps count of what the admitted ones hold. Safe for concurrent use.
type Gate struct {
	budget int64

	mu       sync.Mutex
	held     int64
	released chan struct{} // closed and replaced at every release
}

// NewGate makes a gate for a process with the given budget.
func NewGate(budget int64) *Gate {
	return &Gate{budget: budget, released: make(chan struct{})}
}

// Acquire admits est or returns Check's error; largest is the largest
// budget among the stage's live workers (0 when unknown). On success the
// caller must call release exactly once when the request is done (later
// calls are no-ops).
func (g *Gate) Acquire(est Estimate, largest int64) (release func(), err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := Check(est, g.budget, g.held, largest); err != nil {
		return nil, err
	}
	t := est.Transient()
	g.held += t
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.held -= t
			close(g.released)
			g.released = make(chan struct{})
			g.mu.Unlock()
		})
	}, nil
}

// Released is closed at the next release: a request that did not fit may
// fit then.
func (g *Gate) Released() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.released
}

// Held is what admitted, unreleased requests add on top of the resident
// engine.
func (g *Gate) Held() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held
}

// Budget is the gate's budget in bytes.
func (g *Gate) Budget() int64 { return g.budget }
