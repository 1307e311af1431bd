//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

var (
	avx512Vec = vecKernels{name: "avx512", width: 16,
		expSum:        expSumAVX512,
		gelu:          geluAVX512,
		silu:          siluAVX512,
		scaleMax:      scaleMaxAVX512,
		sumSq:         sumSqAVX512,
		sqAcc:         sqAccAVX512,
		normRow:       normRowAVX512,
		normRowAffine: normRowAffineAVX512,
		normRowW:      normRowWAVX512,
		mulInvG:       mulInvGAVX512,
		addGated:      addGatedAVX512,
		addInto:       addIntoAVX512,
		scaleShift:    scaleShiftAVX512,
		roundSwap:     roundSwapAVX512,
		mulAdd:        mulAddAVX512,
		mulInto:       mulIntoAVX512,
	}
	avx2Vec = vecKernels{name: "avx2", width: 8,
		expSum:        expSumAVX2,
		gelu:          geluAVX2,
		silu:          siluAVX2,
		scaleMax:      scaleMaxAVX2,
		sumSq:         sumSqAVX2,
		sqAcc:         sqAccAVX2,
		normRow:       normRowAVX2,
		normRowAffine: normRowAffineAVX2,
		normRowW:      normRowWAVX2,
		mulInvG:       mulInvGAVX2,
		addGated:      addGatedAVX2,
		addInto:       addIntoAVX2,
		scaleShift:    scaleShiftAVX2,
		roundSwap:     roundSwapAVX2,
		mulAdd:        mulAddAVX2,
		mulInto:       mulIntoAVX2,
	}
)

// bestVec picks the widest vector loops this CPU supports.
func bestVec() vecKernels {
	if a := availableVecs(); len(a) > 0 {
		return a[0]
	}
	return goVec
}

// availableVecs lists the assembly loops usable here, best first.
func availableVecs() []vecKernels {
	var as []vecKernels
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL {
		as = append(as, avx512Vec)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		as = append(as, avx2Vec)
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

//go:noescape
func sumSqAVX512(x *float32, n int) (s, ss float64)

//go:noescape
func sqAccAVX512(acc *float64, x *float32, n int)

//go:noescape
func normRowAVX512(x *float32, n int, m, s float32)

//go:noescape
func normRowAffineAVX512(x *float32, n int, m, s float32, w, b *float32)

//go:noescape
func normRowWAVX512(x *float32, n int, s float32, w *float32)

//go:noescape
func mulInvGAVX512(x, inv *float32, n int, gain float32)

//go:noescape
func sumSqAVX2(x *float32, n int) (s, ss float64)

//go:noescape
func sqAccAVX2(acc *float64, x *float32, n int)

//go:noescape
func normRowAVX2(x *float32, n int, m, s float32)

//go:noescape
func normRowAffineAVX2(x *float32, n int, m, s float32, w, b *float32)

//go:noescape
func normRowWAVX2(x *float32, n int, s float32, w *float32)

//go:noescape
func mulInvGAVX2(x, inv *float32, n int, gain float32)

//go:noescape
func addGatedAVX512(x *float32, n int, o, gate *float32)

//go:noescape
func addIntoAVX512(x *float32, n int, o *float32)

//go:noescape
func scaleShiftAVX512(x *float32, n int, scale, shift *float32)

//go:noescape
func addGatedAVX2(x *float32, n int, o, gate *float32)

//go:noescape
func addIntoAVX2(x *float32, n int, o *float32)

//go:noescape
func scaleShiftAVX2(x *float32, n int, scale, shift *float32)

//go:noescape
func roundSwapAVX512(x *float32, n int, o *float32)

//go:noescape
func roundSwapAVX2(x *float32, n int, o *float32)

//go:noescape
func mulAddAVX512(x *float32, n int, scale, bias *float32)

//go:noescape
func mulAddAVX2(x *float32, n int, scale, bias *float32)

//go:noescape
func mulIntoAVX512(x *float32, n int, scale *float32)

//go:noescape
func mulIntoAVX2(x *float32, n int, scale *float32)
