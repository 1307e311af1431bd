package runner

import (
	"errors"
	"fmt"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrBadInput: the runner rejected the call's arguments. Retrying
	// cannot help: the job fails.
	ErrBadInput = errors.New("runner: bad input")
	// ErrTransient: the call failed for a reason that may pass (the runner
	// crashed, hung, was restarted, or reported a transient failure):
	// retry, or leave the message for another worker.
	ErrTransient = errors.New("runner: transient failure")
	// ErrOOM: the runner ran out of memory (host or GPU). Retrying here may
	// fail again; another worker with more free memory may succeed.
	ErrOOM = errors.New("runner: out of memory")
	// ErrProtocol: the runner wrote something that is not this protocol
	// (garbage on stdout, a reply of the wrong shape). The process is killed.
	ErrProtocol = errors.New("runner: protocol violation")
	// ErrStart: the runner could not be started or did not answer hello.
	ErrStart = errors.New("runner: start failed")
	// ErrClosed: the Engine was closed.
	ErrClosed = errors.New("runner: closed")
)

// Error kinds on the wire (docs/runner.md).
const (
	KindBadInput  = "bad_input"
	KindOOM       = "oom"
	KindTransient = "transient"
	KindCancelled = "cancelled"
)

// Error is an error answer from the runner. It matches ErrBadInput, ErrOOM
// or ErrTransient by kind; an unknown kind counts as transient.
type Error struct {
	Op      string // the request's op
	Kind    string // the wire kind
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("runner: %s: %s: %s", e.Op, e.Kind, e.Message)
}

// Is maps the kind onto the package's sentinels.
func (e *Error) Is(target error) bool {
	switch e.Kind {
	case KindBadInput:
		return target == ErrBadInput
	case KindOOM:
		return target == ErrOOM
	case KindCancelled:
		return false
	default:
		return target == ErrTransient
	}
}
