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

// Gate applies Check for a worker that runs several requests at once, and
// keeps count of what the admitted ones hold. Safe for concurrent use.
type Gate struct {
	budget  int64
	largest func() int64

	mu   sync.Mutex
	held int64
}

// NewGate makes a gate for a worker with the given budget. largest reports
// the largest budget among the stage's live workers (from heartbeats); nil
// means only this worker is known.
func NewGate(budget int64, largest func() int64) *Gate {
	return &Gate{budget: budget, largest: largest}
}

// Acquire admits est or returns Check's error. On success the caller must
// call release exactly once when the request is done (later calls are
// no-ops).
func (g *Gate) Acquire(est Estimate) (release func(), err error) {
	var largest int64
	if g.largest != nil {
		largest = g.largest()
	}
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
			g.mu.Unlock()
		})
	}, nil
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

// Stage names, as the bus spells them (internal/mem does not import bus).
const (
	StageTextEnc   = "textenc"
	StageDenoise   = "denoise"
	StageVAEDecode = "vaedecode"
	StageEncode    = "encode"
)

// ForStage is the estimate for one message of a stage: a job's text, its
// denoising, one latent chunk, or its encoding. fp8 is whether the denoise
// stage runs the FP8 DiT (the built-in weights do).
func (e Estimator) ForStage(stage string, frames, steps int, fp8 bool) (Estimate, error) {
	switch stage {
	case StageTextEnc:
		return e.Text(), nil
	case StageDenoise:
		return e.Denoise(frames, steps, fp8), nil
	case StageVAEDecode:
		return e.DecodeChunk(), nil
	case StageEncode:
		return e.Encode(frames), nil
	}
	return Estimate{}, fmt.Errorf("mem: no estimate for stage %q", stage)
}
