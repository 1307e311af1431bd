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

var (
	avx512Act = actKernels{name: "avx512", width: 16, expSum: expSumAVX512, gelu: geluAVX512, silu: siluAVX512, scaleMax: scaleMaxAVX512}
	avx2Act   = actKernels{name: "avx2", width: 8, expSum: expSumAVX2, gelu: geluAVX2, silu: siluAVX2, scaleMax: scaleMaxAVX2}
)

// bestAct picks the widest vector loops this CPU supports.
func bestAct() actKernels {
	if a := availableActs(); len(a) > 0 {
		return a[0]
	}
	return goAct
}

// availableActs lists the assembly loops usable here, best first.
func availableActs() []actKernels {
	var as []actKernels
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL {
		as = append(as, avx512Act)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		as = append(as, avx2Act)
	}
	return as
}

//go:noescape
func expSumAVX512(x *float32, n int, shift float32) (sum float32)

//go:noescape
func geluAVX512(x *float32, n int)

//go:noescape
func siluAVX512(x *float32, n int)

//go:noescape
func expSumAVX2(x *float32, n int, shift float32) (sum float32)

//go:noescape
func geluAVX2(x *float32, n int)

//go:noescape
func siluAVX2(x *float32, n int)

//go:noescape
func scaleMaxAVX512(x *float32, n int, scale float32) (max float32)

//go:noescape
func scaleMaxAVX2(x *float32, n int, scale float32) (max float32)
