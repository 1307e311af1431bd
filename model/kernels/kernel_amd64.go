//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

var (
	avx512Kernel = microKernel{name: "avx512-6x32", mr: 6, nr: 32, fns: avx512Fns}
	avx2Kernel   = microKernel{name: "avx2-6x16", mr: 6, nr: 16, fns: avx2Fns}
)

// bestKernel picks the widest kernel this CPU (and OS, which must save the
// wider register state) supports; x/sys/cpu checks both.
func bestKernel() microKernel {
	if k := availableKernels(); len(k) > 0 {
		return k[0]
	}
	return goKernel
}

// availableKernels lists the assembly kernels usable here, best first.
func availableKernels() []microKernel {
	var ks []microKernel
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL {
		ks = append(ks, avx512Kernel)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2Kernel)
	}
	return ks
}
