package gpu

import (
	"errors"
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// ErrNoGPU means no NVIDIA GPU is usable: the NVML library or driver is
// missing, NVML reports no devices, or CUDA_VISIBLE_DEVICES hides them all.
// The wrapping error says which.
var ErrNoGPU = errors.New("no NVIDIA GPU found")

// ErrBadPin means --gpu names a device that is not visible.
var ErrBadPin = errors.New("gpu: no such visible device")

// NoGPUMessage is the one line a stage logs when it falls back to the CPU.
const NoGPUMessage = "no NVIDIA GPU found, using the CPU engine"

// check turns an nvml.Return into an error naming the operation; nvml.Return
// implements error, so callers can still errors.Is(err, nvml.ERROR_NOT_SUPPORTED).
func check(op string, ret nvml.Return) error {
	if ret == nvml.SUCCESS {
		return nil
	}
	return fmt.Errorf("nvml %s: %w", op, ret)
}

// guard runs f and converts a panic into an error. go-nvml's mocks panic on a
// function they do not implement, and a damaged library can fault in cgo
// glue; neither may take a stage down.
func guard(op string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("nvml %s: panic: %v", op, r)
		}
	}()
	return f()
}
