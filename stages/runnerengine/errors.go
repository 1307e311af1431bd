package runnerengine

import (
	"errors"
	"fmt"

	"github.com/reel-video/reel/runner"
	"github.com/reel-video/reel/stages"
)

// stageError maps a runner error onto what the stage runner does with the
// message (docs/runner.md, "Error kinds"):
//
//   - bad input, or a protocol violation (the runner answered something
//     that is not the protocol, or shapes the manifest does not declare):
//     permanent, the job fails with the reason; a runner that breaks the
//     protocol would break it again on redelivery.
//   - out of memory: stages.ErrRetryLater, the message is left for another
//     worker, which may have the memory, without counting as a failure.
//   - anything else (the runner crashed, hung, was restarting, or said
//     transient): a plain error, so the message is retried and redelivered.
//
// The protocol check comes first: a runner killed for garbage fails its
// call with an error that is both transient and a protocol violation.
func (a *Engine) stageError(op string, err error) error {
	switch {
	case errors.Is(err, runner.ErrBadInput), errors.Is(err, runner.ErrProtocol):
		return stages.Permanent(fmt.Errorf("engine %s: %s: %w", a.name, op, err))
	case errors.Is(err, runner.ErrOOM):
		return fmt.Errorf("%w: engine %s: %s: %w", stages.ErrRetryLater, a.name, op, err)
	default:
		return fmt.Errorf("engine %s: %s: %w", a.name, op, err)
	}
}
