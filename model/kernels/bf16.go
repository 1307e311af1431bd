package kernels

import (
	"math"
	"sync"
)

// FP8 Linear layers multiply BF16 activations by the FP8 weights' values.
//
// An FP8 weight's values decode(code) are exact in BF16 (3 mantissa bits,
// an exponent range inside BF16's), so on a CPU with AVX512-BF16 the
// weight's codes are decoded to BF16 a panel at a time and each pair of
// products is one VDPBF16PS lane: two multiply-adds per lane per
// instruction, twice VFMADD231PS's, at the same rate. The activations are
// rounded to BF16 (nearest even) as they enter the product, and the
// per-row scale of the weight is applied once to the float32 sum, after
// the dot products, as FP8 GEMMs on GPUs do
// (torch._scaled_mm): y[i][j] = scale[j]·Σ_k bf16(x[i][k])·decode(code[j][k]).
// Rounding an activation costs 2⁻⁹ of relative error, a small fraction of
// what the 3-bit FP8 mantissa of the weight already costs.
//
// Every CPU computes exactly these bits. VDPBF16PS adds a pair's odd
// product to the accumulator, rounds, adds the even one and rounds again,
// and a product of two BF16 values is exact in float32; so a float32
// kernel fed the same BF16 values with each pair's two K swapped (odd
// first) makes the same roundings, whether it fuses the multiply-add (FMA)
// or not. That is the fallback where there is no BF16 kernel: the FP8
// codes are kept one byte per value in pair-swapped panels, decoded to
// float32 panel by panel (fp8Panels, unit scale), and A is rounded and
// swapped into a float32 copy. Both paths use the same K-blocks (kcBF16),
// accumulate C the same way and apply scale and bias in the same order.
// The one case where they differ is a sum below 2⁻¹²⁶, which VDPBF16PS
// flushes to zero.

// bf16NR is the width of a BF16 panel (the BF16 kernels' columns).
const bf16NR = 32

// kScale is the BF16 kernels' flag to multiply the tile by scale[j] (after
// adding C when kAccumulate is set, before the column bias).
const kScale = 8

// bf16KernelFunc computes one rows×32 tile of C from rows of A in BF16 (row
// stride lda elements, kp/2 pairs) and a BF16 panel of B (kp/2 pairs of 32
// columns × 2 values); flags are kAccumulate, kScale and kColBias.
type bf16KernelFunc func(kp int, a *uint16, lda int, b *uint16, c *float32, ldc int, scale *float32, bias *float32, flags int)

// bf16Kernel is the BF16 micro-kernel family (rows 1 to 6, index 0
// unused), its vector rounder of n (a multiple of 32) floats and its
// vector decoder of n (a multiple of 32) FP8 codes to BF16.
type bf16Kernel struct {
	name    string
	fns     [7]bf16KernelFunc
	round32 func(dst *uint16, src *float32, n int)
	decode  func(dst *uint16, codes *uint8, n int, table *[128]uint16)
}

// roundBF16 rounds f to BF16 as VCVTNE2PS2BF16 does: to nearest even,
// denormals to a zero of their sign, NaN quieted.
func roundBF16(f float32) uint16 {
	b := math.Float32bits(f)
	switch {
	case b&0x7f800000 == 0:
		return uint16(b>>16) & 0x8000
	case b&0x7fffffff > 0x7f800000:
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// bf16Float widens a BF16 value to float32 (exact).
func bf16Float(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// kcBF16 is the K-block (even) of an FP8 product with kp (even) K values:
// a float32 fallback panel of it fits PanelFloats, and both paths block K
// alike, which their equal bits depend on.
func kcBF16(kp int) int { return 2 * kcFor(kp/2, 2*bf16NR) }

// bf16Panels is an FP8 weight's codes laid out for the BF16 kernel: panel
// p (columns p·32 …) is kp/2 pairs, pair q holding for each column jj the
// codes of K 2q and 2q+1 side by side,
// codes[p·kp·32 + q·64 + 2·jj + h] = code[p·32+jj][2q+h], zero codes past
// In and Out. One byte per value, as in the file: a K-block of a panel is
// one contiguous run that decodes (fp8ToBF16, a table lookup) word for
// byte into the kernel's BF16 panel, with no rearranging. Decoding each
// panel as it is used is about 2% of a DiT step's CPU time (the step took
// 24.4 ms against 23.5 with BF16 panels held) and keeps FP8's memory: a
// BF16 copy would double the weight, past the 30% of float32 that
// TestFP8DiTMemory allows.
type bf16Panels struct {
	out, in, kp int
	codes       []uint8
}

func newBF16Panels(out, in int, codes []uint8) bf16Panels {
	kp := in + in&1
	panels := (out + bf16NR - 1) / bf16NR
	p := bf16Panels{out: out, in: in, kp: kp, codes: make([]uint8, panels*kp*bf16NR)}
	for j := 0; j < out; j++ {
		base := (j/bf16NR)*kp*bf16NR + 2*(j%bf16NR)
		for k, c := range codes[j*in : (j+1)*in] {
			p.codes[base+(k/2)*2*bf16NR+k&1] = c
		}
	}
	return p
}

// e4m3BF16 is the BF16 value of every E4M3FN code without its sign bit.
var e4m3BF16 = func() (t [128]uint16) {
	for c := range t {
		t[c] = roundBF16(e4m3[c])
	}
	return t
}()

// decode writes the BF16 panel of columns [j0, j0+32), K [k0, k0+kc) (kc
// even) into dst (kc·32 values), with the vector decoder when there is one.
func (p *bf16Panels) decode(dst []uint16, k0, kc, j0 int, vec func(dst *uint16, codes *uint8, n int, table *[128]uint16)) {
	n := kc * bf16NR
	src := p.codes[(j0/bf16NR)*p.kp*bf16NR+k0*bf16NR:][:n]
	dst = dst[:n]
	if vec != nil {
		vec(&dst[0], &src[0], n, &e4m3BF16)
		return
	}
	for i, c := range src {
		dst[i] = e4m3BF16[c&0x7f] | uint16(c&0x80)<<8
	}
}

// value returns decode(code[j][k]).
func (p *bf16Panels) value(j, k int) float32 {
	return e4m3[p.codes[(j/bf16NR)*p.kp*bf16NR+(k/2)*2*bf16NR+2*(j%bf16NR)+k&1]]
}

// pack is the fallback's panelSource view of the panels: float32 panels nr
// wide of the pair-swapped values (B[k] = value[k^1]), for a CPU or a test
// without the BF16 kernel.
func (p *bf16Panels) pack(dst []float32, k0, kc, j0, nr int) {
	for kk := 0; kk < kc; kk++ {
		for jj := 0; jj < nr; jj++ {
			var v float32
			if j, k := j0+jj, (k0+kk)^1; j < p.out && k < p.in {
				v = p.value(j, k)
			}
			dst[kk*nr+jj] = v
		}
	}
}

// swappedFP8Panels keeps FP8 codes for the fallback: [out, kp] with each
// pair of K swapped and zero codes past In, in fp8Panels (unit scale, so a
// panel decodes to the bare values).
func swappedFP8Panels(out, in int, codes []uint8, nr int) fp8Panels {
	kp := in + in&1
	sw := make([]uint8, out*kp)
	for j := 0; j < out; j++ {
		for k, c := range codes[j*in : (j+1)*in] {
			sw[j*kp+k^1] = c
		}
	}
	ones := make([]float32, out)
	for j := range ones {
		ones[j] = 1
	}
	return newFP8Panels(out, kp, sw, ones, nr)
}

// Scratch recycled between calls, as a cache (a DiT step makes dozens of
// products; allocating each rounded A and panel would be most of its
// garbage): the rounded copies of A, BF16 and the fallback's float32, and
// the BF16 kernel's decoded panels. Nothing in them outlives a call.
var (
	bf16Scratch  = sync.Pool{New: func() any { return new([]uint16) }}
	f32Scratch   = sync.Pool{New: func() any { return new([]float32) }}
	panelScratch = sync.Pool{New: func() any { return new([]uint16) }}
)

// FP8InputBytes is the size of one element of the rounded copy of A that
// an FP8 product makes (m × In, rounded up to even): 2 bytes where the CPU
// has the BF16 kernel, 4 for the float32 fallback's. The copy is kept, for
// the next product, in a pool: the memory model (internal/mem) counts the
// largest one a workload makes.
func FP8InputBytes() int {
	if bestBF16() != nil { // the default impl's choice, without starting its pool
		return 2
	}
	return 4
}

// minRoundRows is the fewest rows a goroutine rounds, below which the
// rounding of A runs on the caller alone.
const minRoundRows = 32

// roundRowsBF16 writes x[m, in] rounded to BF16 into a (row stride kp,
// zero past In) with the vector rounder when there is one.
func roundRowsBF16(im *impl, a []uint16, x []float32, m, in, kp int) {
	im.pool.Rows(m, minRoundRows, func(r0, r1 int) {
		for i := r0; i < r1; i++ {
			row, dst := x[i*in:(i+1)*in], a[i*kp:(i+1)*kp]
			v := 0
			if im.bf16 != nil {
				if v = in &^ 31; v > 0 {
					im.bf16.round32(&dst[0], &row[0], v)
				}
			}
			for k := v; k < in; k++ {
				dst[k] = roundBF16(row[k])
			}
			clear(dst[in:])
		}
	})
}

// linearFP8 is linear for an FP8 weight: y = scale ⊙ (bf16(x)·values)
// (+ bias), then the epilogue, through the BF16 kernel when im has one
// and the weight keeps its codes in the BF16 panel order, and through the
// float32 fallback otherwise; the bits are the same.
func linearFP8(im *impl, y, x []float32, m int, w *Weight, bias []float32, epilogue func(i0, i1, j0, j1 int)) {
	if m == 0 || w.out == 0 {
		return
	}
	if w.in == 0 {
		g := gemm{m: m, n: w.out, c: y, ldc: w.out, colBias: bias}
		g.fillBias(0, m, 0, w.out)
		if epilogue != nil {
			epilogue(0, m, 0, w.out)
		}
		return
	}
	kp := w.in + w.in&1
	if im.bf16 != nil && w.bf16.codes != nil {
		bp := bf16Scratch.Get().(*[]uint16)
		if cap(*bp) < m*kp {
			*bp = make([]uint16, m*kp)
		}
		a := (*bp)[:m*kp]
		roundRowsBF16(im, a, x, m, w.in, kp)
		g := bf16Gemm{m: m, n: w.out, kp: kp, a: a, c: y, w: &w.bf16, scale: w.scale, bias: bias, epilogue: epilogue, k: im.bf16}
		forParts(im, m, w.out, kp, 6, bf16NR, g.worker)
		bf16Scratch.Put(bp)
		return
	}
	fp := f32Scratch.Get().(*[]float32)
	if cap(*fp) < m*kp {
		*fp = make([]float32, m*kp)
	}
	a := (*fp)[:m*kp]
	im.pool.Rows(m, minRoundRows, func(r0, r1 int) {
		for i := r0; i < r1; i++ {
			roundSwapRow(&im.vec, a[i*kp:(i+1)*kp], x[i*w.in:(i+1)*w.in])
		}
	})
	n := w.out
	g := gemm{
		m: m, n: n, k: kp,
		a: a, lda: kp,
		c: y, ldc: n,
		kc:     kcBF16(kp),
		source: w.fallbackSource,
		epilogue: func(i0, i1, j0, j1 int) {
			var b []float32
			if bias != nil {
				b = bias[j0:j1]
			}
			for i := i0; i < i1; i++ {
				mulAddRow(&im.vec, y[i*n+j0:i*n+j1], w.scale[j0:j1], b)
			}
			if epilogue != nil {
				epilogue(i0, i1, j0, j1)
			}
		},
	}
	g.run(im)
	f32Scratch.Put(fp)
}

// bf16Gemm is one FP8 product on the BF16 kernels (see gemm for the
// blocking; A here is the BF16 copy, row stride kp).
type bf16Gemm struct {
	m, n, kp int
	a        []uint16
	c        []float32
	w        *bf16Panels
	scale    []float32 // per column, padded to whole panels
	bias     []float32 // len n, or nil
	epilogue func(i0, i1, j0, j1 int)
	k        *bf16Kernel
}

// worker computes the row tiles ts (the first at row i0) × panels [p0, p1).
func (g *bf16Gemm) worker(i0 int, ts []int, p0, p1 int) {
	kc := kcBF16(g.kp)
	pp := panelScratch.Get().(*[]uint16)
	if cap(*pp) < kc*bf16NR {
		*pp = make([]uint16, kc*bf16NR)
	}
	defer panelScratch.Put(pp)
	buf := *pp
	var tile, edgeBias []float32
	for k0 := 0; k0 < g.kp; k0 += kc {
		kb := min(kc, g.kp-k0)
		first, last := k0 == 0, k0+kb == g.kp
		flags := 0
		if !first {
			flags |= kAccumulate
		}
		if last {
			flags |= kScale
			if g.bias != nil {
				flags |= kColBias
			}
		}
		for p := p0; p < p1; p++ {
			j0 := p * bf16NR
			jw := min(bf16NR, g.n-j0)
			g.w.decode(buf, k0, kb, j0, g.k.decode)
			panel := &buf[0]
			var bias *float32
			if g.bias != nil {
				if jw < bf16NR {
					if edgeBias == nil {
						edgeBias = make([]float32, bf16NR)
					}
					copy(edgeBias, g.bias[j0:])
					bias = &edgeBias[0]
				} else {
					bias = &g.bias[j0]
				}
			}
			i := i0
			for _, rows := range ts {
				a := &g.a[i*g.kp+k0]
				if jw < bf16NR {
					if tile == nil {
						tile = make([]float32, 6*bf16NR)
					}
					for r := 0; r < rows; r++ {
						if !first {
							copy(tile[r*bf16NR:r*bf16NR+jw], g.c[(i+r)*g.n+j0:])
						}
					}
					g.k.fns[rows](kb/2, a, g.kp, panel, &tile[0], bf16NR, &g.scale[j0], bias, flags)
					for r := 0; r < rows; r++ {
						copy(g.c[(i+r)*g.n+j0:(i+r)*g.n+j0+jw], tile[r*bf16NR:])
					}
				} else {
					g.k.fns[rows](kb/2, a, g.kp, panel, &g.c[i*g.n+j0], g.n, &g.scale[j0], bias, flags)
				}
				if last && g.epilogue != nil {
					g.epilogue(i, i+rows, j0, j0+jw)
				}
				i += rows
			}
		}
	}
}
