//go:build !amd64 || purego

package kernels

// bestKernel: without assembly the portable kernel is the only one.
func bestKernel() microKernel { return goKernel }

// availableKernels lists the assembly kernels usable here: none.
func availableKernels() []microKernel { return nil }
