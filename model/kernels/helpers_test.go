package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// allKernels lists every micro-kernel this build and CPU can run, the
// portable one included, so each test covers the fallback too.
func allKernels() []microKernel {
	return append(availableKernels(), goKernel)
}

// kernelImpl is the implementation with micro-kernel mk, no BF16 kernel
// (FP8 products take the float32 fallback) and the default vector loops.
func kernelImpl(mk microKernel) *impl {
	return &impl{mk: mk, vec: defaultImpl().vec, pool: defaultImpl().pool}
}

// allImpls lists an implementation per micro-kernel (kernelImpl) and,
// where the CPU has it, the default one with its BF16 kernel.
func allImpls() []*impl {
	var ims []*impl
	if d := defaultImpl(); d.bf16 != nil {
		ims = append(ims, d)
	}
	for _, mk := range allKernels() {
		ims = append(ims, kernelImpl(mk))
	}
	return ims
}

// implName names an implementation in subtests.
func implName(im *impl) string {
	if im.bf16 != nil {
		return im.mk.name + "+" + im.bf16.name
	}
	return im.mk.name
}

// forEachKernel runs f with each of allImpls.
func forEachKernel(t *testing.T, f func(t *testing.T, im *impl)) {
	for _, im := range allImpls() {
		t.Run(implName(im), func(t *testing.T) { f(t, im) })
	}
}

func randSlice(r *rand.Rand, n int, scale float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = (2*r.Float32() - 1) * scale
	}
	return s
}

// randFP8 returns n random E4M3FN codes, avoiding the two NaN codes.
func randFP8(r *rand.Rand, n int) []uint8 {
	c := make([]uint8, n)
	for i := range c {
		for {
			c[i] = uint8(r.IntN(256))
			if c[i]&0x7f != 0x7f {
				break
			}
		}
	}
	return c
}

// checkClose fails when |got-want| > atol + rtol·|want| anywhere.
func checkClose(t *testing.T, what string, got, want []float32, rtol, atol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) != math.IsNaN(w) || math.Abs(g-w) > atol+rtol*math.Abs(w) {
			if bad < 5 {
				t.Errorf("%s[%d] = %g, want %g (diff %g)", what, i, g, w, g-w)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ", what, bad, len(got))
	}
}
