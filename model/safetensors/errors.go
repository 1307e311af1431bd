package safetensors

import (
	"errors"
	"fmt"
)

// Sentinel errors, one per rule, so callers and tests can tell them apart
// with errors.Is. The *Error wrapping them carries the file and tensor.
var (
	ErrTruncated      = errors.New("file shorter than its 8-byte header length")
	ErrHeaderTooLarge = errors.New("header length exceeds 100 MB")
	ErrInvalidHeader  = errors.New("invalid header JSON")
	ErrUnknownDType   = errors.New("unknown dtype")
	ErrBadShape       = errors.New("invalid shape")
	ErrTooLarge       = errors.New("tensor size overflows")
	ErrMisaligned     = errors.New("tensor size is not a whole number of bytes")
	ErrDuplicate      = errors.New("duplicate tensor name")
	ErrSizeMismatch   = errors.New("data_offsets span differs from numel × dtype size")
	ErrOffsets        = errors.New("data_offsets do not tile the buffer contiguously from 0")
	ErrFileLength     = errors.New("file length does not match header")
	ErrDType          = errors.New("unsupported dtype for this operation")
)

// Error is a format violation in a named file, optionally about one tensor.
type Error struct {
	File   string
	Tensor string // empty when the violation is not about one tensor
	Detail string // specifics (offsets, sizes) beyond the sentinel's text
	Err    error  // one of the sentinel errors above
}

func (e *Error) Error() string {
	s := "safetensors: " + e.File
	if e.Tensor != "" {
		s += fmt.Sprintf(": tensor %q", e.Tensor)
	}
	s += ": " + e.Err.Error()
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func newErr(file, tensor string, err error, format string, args ...any) *Error {
	return &Error{File: file, Tensor: tensor, Err: err, Detail: fmt.Sprintf(format, args...)}
}
