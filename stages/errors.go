package stages

import (
	"errors"
	"fmt"

	"github.com/reel-video/reel/bus/protocol"
)

// ErrRetryLater from the admission hook or a handler leaves the message for
// another worker (a delayed nak) without counting as a failure of the job.
var ErrRetryLater = errors.New("retry later")

// ErrPermanent marks a failure that retrying cannot fix: the job fails and
// the message is terminated.
var ErrPermanent = errors.New("permanent failure")

// Permanent wraps err so that the runner terminates instead of retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPermanent, err)
}

// IsPermanent reports errors the runner terminates on.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrPermanent) || errors.Is(err, protocol.ErrMalformed) ||
		errors.Is(err, protocol.ErrMissing) || errors.Is(err, protocol.ErrInvalid)
}

// IsRetryLater reports errors that leave the message for another worker.
func IsRetryLater(err error) bool { return errors.Is(err, ErrRetryLater) }
