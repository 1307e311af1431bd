//go:build !amd64 || purego

// Dispatch of the portable build (tag purego, or not amd64): no assembly,
// so the portable micro-kernel and scalar loops are the only ones.

package kernels

// bestKernel: without assembly the portable kernel is the only one.
func bestKernel() microKernel { return goKernel }

// bestBF16: no BF16 kernel without assembly (FP8 products take the float32
// fallback, with the same results).
func bestBF16() *bf16Kernel { return nil }

// availableKernels lists the assembly kernels usable here: none.
func availableKernels() []microKernel { return nil }

// bestVec: without assembly the scalar loops are the only ones.
func bestVec() vecKernels { return goVec }

// availableVecs lists the assembly loops usable here: none.
func availableVecs() []vecKernels { return nil }

// convPack32, convPack16: no vector im2col packers without assembly.
var convPack32, convPack16 func(dst *float32, in *float32, n int, offs *int, masks *uint32, taps, ci, tap, kc int)

// fp8Decoder: no vector FP8 panel decoders without assembly.
func fp8Decoder(int) func(dst *float32, codes *uint8, rows int, scale *float32) { return nil }

// winoVec: no vector Winograd transforms without assembly.
const winoVec = false

func winoInput4(r0, r1, r2, r3 *float32, groups int, dst *float32, stride int) {
	panic("kernels: no vector Winograd transforms")
}

func winoOutput4(m *float32, stride int, groups int, y0, y1 *float32, bias float32) {
	panic("kernels: no vector Winograd transforms")
}

// interleave2 sets dst[2i], dst[2i+1] = a[i], b[i] for i < len(a).
func interleave2(dst, a, b []float32) {
	dst, b = dst[:2*len(a)], b[:len(a)]
	for x, v := range a {
		d := dst[2*x : 2*x+2 : 2*x+2]
		d[0], d[1] = v, b[x]
	}
}
