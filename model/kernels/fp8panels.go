package kernels

import (
	"math"

	"github.com/reel-video/reel/model/fp8"
)

// e4m3 is package fp8's E4M3FN decode table, copied into this package so
// the scalar decode indexes a fixed-size array (no bounds checks).
var e4m3 = fp8.E4M3Table()

// fp8Panels is an FP8 weight as a panelSource for B = Wᵀ, the store of an
// FP8 Linear where there is no BF16 kernel (swappedFP8Panels: pair-swapped
// codes, unit scale; see bf16.go): the codes
// rearranged at load into panels nr columns wide (panel p is In rows of nr
// codes, codes[p·In·nr + k·nr + jj] = code[p·nr+jj][k], zero codes past
// Out), so a panel's K-block is one contiguous run of bytes. Packing it
// is then a sequential decode (a vector loop where the CPU has one, see
// gen_fp8pack.py) rather than a gather over nr weight rows through a
// table, which made FP8 slower than float32. decode(code)·scale is
// exactly the float32 weight of the reference definition, so the panels
// are those of the dequantised weight, bit for bit.
type fp8Panels struct {
	out, in, nr int
	codes       []uint8
	scale       []float32 // per column of the panels (Out rounded up to nr; zero past Out)
	// scaled is scale·2^120 for the vector decoder (see gen_fp8pack.py),
	// nil when there is none for nr or a scale is too large for it.
	scaled []float32
	decode func(dst *float32, codes *uint8, rows int, scale *float32)
}

// fp8VecScaleMax bounds the scales the vector decode takes: scale·2^120
// must stay finite. Quantised weights have scale = amax/448.
const fp8VecScaleMax = 1 << 7

func newFP8Panels(out, in int, codes []uint8, scale []float32, nr int) fp8Panels {
	panels := (out + nr - 1) / nr
	p := fp8Panels{out: out, in: in, nr: nr,
		codes: make([]uint8, panels*in*nr),
		scale: make([]float32, panels*nr),
	}
	copy(p.scale, scale)
	for j := 0; j < out; j++ {
		base, jj := (j/nr)*in*nr, j%nr
		for k, c := range codes[j*in : (j+1)*in] {
			p.codes[base+k*nr+jj] = c
		}
	}
	if p.decode = fp8Decoder(nr); p.decode != nil {
		p.scaled = make([]float32, len(p.scale))
		for j, s := range p.scale {
			if !(math.Abs(float64(s)) < fp8VecScaleMax) {
				p.scaled, p.decode = nil, nil
				break
			}
			p.scaled[j] = s * 0x1p120
		}
	}
	return p
}

func (p *fp8Panels) bytes() int { return len(p.codes) + 4*len(p.scale) + 4*len(p.scaled) }

// code returns the code of W[j][k].
func (p *fp8Panels) code(j, k int) uint8 {
	return p.codes[(j/p.nr)*p.in*p.nr+k*p.nr+j%p.nr]
}

// pack writes B[k0:k0+kc, j0:j0+nr] = Wᵀ's dequantised values. A width
// other than the stored one (a kernel swapped in after packing, as tests
// do) is gathered element by element.
func (p *fp8Panels) pack(dst []float32, k0, kc, j0, nr int) {
	dst = dst[:kc*nr]
	if nr != p.nr {
		for kk := 0; kk < kc; kk++ {
			for jj := 0; jj < nr; jj++ {
				var v float32
				if j := j0 + jj; j < p.out {
					v = e4m3[p.code(j, k0+kk)] * p.scale[j]
				}
				dst[kk*nr+jj] = v
			}
		}
		return
	}
	src := p.codes[(j0/nr)*p.in*nr+k0*nr : (j0/nr)*p.in*nr+(k0+kc)*nr]
	if p.decode != nil && kc > 0 {
		p.decode(&dst[0], &src[0], kc, &p.scaled[j0])
		return
	}
	sc := p.scale[j0 : j0+nr]
	for kk := 0; kk < kc; kk++ {
		d, c := dst[kk*nr:kk*nr+nr], src[kk*nr:kk*nr+nr]
		for jj := range d {
			d[jj] = e4m3[c[jj]] * sc[jj]
		}
	}
}
