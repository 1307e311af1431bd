//go:build !amd64 || purego

package kernels

// bestKernel: without assembly the portable kernel is the only one.
func bestKernel() microKernel { return goKernel }

// availableKernels lists the assembly kernels usable here: none.
func availableKernels() []microKernel { return nil }

// bestAct: without assembly the scalar loops are the only ones.
func bestAct() actKernels { return goAct }

// availableActs lists the assembly loops usable here: none.
func availableActs() []actKernels { return nil }
