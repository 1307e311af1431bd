package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestRoundBF16 checks the scalar rounding on the cases that matter
// (ties to even, carries into the exponent, overflow to infinity,
// denormals, NaN) and, where the CPU has it, that VCVTNE2PS2BF16 rounds
// random and special values to the same bits.
func TestRoundBF16(t *testing.T) {
	for _, c := range []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // tie, even below
		{0x3f818000, 0x3f82}, // tie, odd below: up
		{0x3f808001, 0x3f81}, // above the tie
		{0x3fffffff, 0x4000}, // carry into the exponent
		{0x7f7fffff, 0x7f80}, // largest finite: to +Inf
		{0xff800000, 0xff80}, // -Inf
		{0x00400000, 0x0000}, // denormal: +0
		{0x80000001, 0x8000}, // negative denormal: -0
		{0x00800000, 0x0080}, // smallest normal stays
		{0x7fa00000, 0x7fe0}, // signalling NaN: quieted
		{0xffc00001, 0xffc0}, // quiet NaN
	} {
		if got := roundBF16(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("roundBF16(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	k := defaultImpl().bf16
	if k == nil {
		t.Skip("no BF16 kernel on this CPU: only the scalar rounding is checked")
	}
	r := rand.New(rand.NewPCG(9, 10))
	src := make([]float32, 32*64)
	for i := range src {
		switch i % 4 {
		case 0:
			src[i] = math.Float32frombits(r.Uint32()) // every class, NaN included
		case 1:
			src[i] = math.Float32frombits(r.Uint32()&0x807fffff | 0x3f800000&^0x7fff | 0x8000) // ties and near ties
		default:
			src[i] = float32(r.NormFloat64())
		}
	}
	dst := make([]uint16, len(src))
	k.round32(&dst[0], &src[0], len(src))
	for i, v := range src {
		if want := roundBF16(v); dst[i] != want {
			t.Fatalf("VCVTNE2PS2BF16(%#08x) = %#04x, roundBF16 %#04x", math.Float32bits(v), dst[i], want)
		}
	}
}

// TestFP8ToBF16 decodes every code, in shuffled runs, through the vector
// decoder and the scalar loop: both must give the table's value exactly.
func TestFP8ToBF16(t *testing.T) {
	codes := make([]uint8, 0, 32*64)
	for range 8 {
		for c := 0; c < 256; c++ {
			codes = append(codes, uint8(c))
		}
	}
	rand.New(rand.NewPCG(13, 14)).Shuffle(len(codes), func(i, j int) { codes[i], codes[j] = codes[j], codes[i] })
	p := bf16Panels{out: 32, in: len(codes) / 32, kp: len(codes) / 32, codes: codes}
	decoders := map[string]func(*uint16, *uint8, int, *[128]uint16){"scalar": nil}
	if k := defaultImpl().bf16; k != nil {
		decoders["vector"] = k.decode
	}
	for name, dec := range decoders {
		for _, k0 := range []int{0, 2, 40} {
			kc := p.kp - k0
			dst := make([]uint16, kc*bf16NR)
			p.decode(dst, k0, kc, 0, dec)
			for i, h := range dst {
				want := e4m3[codes[k0*bf16NR+i]]
				got := bf16Float(h)
				if math.Float32bits(got) != math.Float32bits(want) && !(math.IsNaN(float64(got)) && math.IsNaN(float64(want))) {
					t.Fatalf("%s: code %#02x decoded to %g (%#04x), want %g", name, codes[k0*bf16NR+i], got, h, want)
				}
			}
		}
	}
}

// TestFP8LinearSameBitsEverywhere: an FP8 product gives the same bits on
// the BF16 kernel and on every float32 kernel's fallback, whichever
// implementation packed the weight, with and without a bias, through the
// fused epilogues too, for shapes with odd K, several K-blocks, edge
// columns and every row tile height; and it is the exact product of the
// rounded activations within float32 rounding (TestLinear* check that).
func TestFP8LinearSameBitsEverywhere(t *testing.T) {
	ims := allImpls()
	if ims[0].bf16 == nil {
		t.Log("no BF16 kernel on this CPU: comparing the float32 kernels' fallbacks only")
	}
	r := rand.New(rand.NewPCG(11, 12))
	for _, sh := range [][3]int{{1, 256, 768}, {5, 33, 45}, {13, 1100, 40}, {7, 1024, 256}, {384, 256, 1024}, {2, 1, 3}, {11, 641, 97}} {
		m, in, out := sh[0], sh[1], sh[2]
		codes, scale := randFP8(r, out*in), randSlice(r, out, 0.01)
		x := randSlice(r, m*in, 3)
		bias := randSlice(r, out, 1)
		gate := randSlice(r, out, 1)
		res0 := randSlice(r, m*out, 1)
		type result struct{ plain, biased, gelu, res []float32 }
		var first *result
		var firstName string
		for _, packer := range ims {
			w := newWeightFP8(packer, out, in, codes, scale)
			for _, im := range ims {
				name := fmt.Sprintf("%dx%dx%d packed %s run %s", m, in, out, implName(packer), implName(im))
				got := result{make([]float32, m*out), make([]float32, m*out), make([]float32, m*out), append([]float32(nil), res0...)}
				linear(im, got.plain, x, m, w, nil, nil)
				linear(im, got.biased, x, m, w, bias, nil)
				linearGELU(im, got.gelu, x, m, w, bias)
				linearResidual(im, got.res, make([]float32, m*out), x, m, w, gate)
				if first == nil {
					first, firstName = &got, name
					continue
				}
				for _, c := range []struct {
					what      string
					got, want []float32
				}{{"plain", got.plain, first.plain}, {"bias", got.biased, first.biased}, {"gelu", got.gelu, first.gelu}, {"residual", got.res, first.res}} {
					for i := range c.got {
						if math.Float32bits(c.got[i]) != math.Float32bits(c.want[i]) {
							t.Fatalf("%s %s: y[%d] = %g (%#08x), %s gave %g (%#08x)", name, c.what, i,
								c.got[i], math.Float32bits(c.got[i]), firstName, c.want[i], math.Float32bits(c.want[i]))
						}
					}
				}
			}
		}
	}
}

// TestFallbackRowLoops checks the fallback's vector loops against their
// scalar definitions bit for bit, on every vector implementation: rounding
// with the pair swap (random bits, NaNs, denormals and ties included, odd
// lengths) and the scale-and-bias epilogue.
func TestFallbackRowLoops(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	vecs := append(availableVecs(), goVec)
	for _, n := range []int{1, 7, 16, 33, 257} {
		x := make([]float32, n)
		for i := range x {
			switch i % 3 {
			case 0:
				x[i] = math.Float32frombits(r.Uint32())
			case 1:
				x[i] = math.Float32frombits(r.Uint32()&0x807fffff | 0x3f800000&^0x7fff | 0x8000)
			default:
				x[i] = float32(r.NormFloat64())
			}
		}
		want := make([]float32, n+n&1)
		for k, v := range x {
			want[k^1] = bf16Float(roundBF16(v))
		}
		scale, bias := randSlice(r, n, 2), randSlice(r, n, 1)
		for _, vec := range vecs {
			got := randSlice(r, n+n&1, 9) // garbage to be overwritten
			roundSwapRow(&vec, got, x)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s n=%d: roundSwapRow[%d] = %#08x, want %#08x", vec.name, n, i, math.Float32bits(got[i]), math.Float32bits(want[i]))
				}
			}
			for _, b := range [][]float32{nil, bias} {
				y := append([]float32(nil), scale...)
				mulAddRow(&vec, y, x, b)
				for i := range y {
					w := float32(scale[i] * x[i])
					if b != nil {
						w += b[i]
					}
					if math.Float32bits(y[i]) != math.Float32bits(w) && !(math.IsNaN(float64(y[i])) && math.IsNaN(float64(w))) {
						t.Fatalf("%s n=%d bias=%v: mulAddRow[%d] = %g, want %g", vec.name, n, b != nil, i, y[i], w)
					}
				}
			}
		}
	}
}
