package fp8

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestQuantizeRows(t *testing.T) {
	tests := []struct {
		name      string
		w         []float32
		out, in   int
		wantCodes []uint8
		wantScale []float32
	}{
		{"amax maps to 448", []float32{2, -1, 0.5, 0}, 1, 4, []uint8{0x7e, 0xf6, 0x6e, 0x00}, []float32{2.0 / 448}},
		{"rows scaled independently", []float32{448, 1, -0.001, 0.001}, 2, 2, []uint8{0x7e, 0x38, 0xfe, 0x7e}, []float32{1, float32(0.001) / 448}},
		{"zero row uses the 1e-12 floor", []float32{0, 0, 0}, 1, 3, []uint8{0, 0, 0}, []float32{float32(1e-12) / 448}},
		{"empty", nil, 0, 5, []uint8{}, []float32{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			codes, scale := QuantizeRows(tc.w, tc.out, tc.in)
			if len(codes) != len(tc.wantCodes) || len(scale) != len(tc.wantScale) {
				t.Fatalf("got %d codes, %d scales", len(codes), len(scale))
			}
			for i := range codes {
				if codes[i] != tc.wantCodes[i] {
					t.Errorf("code[%d] = %#02x, want %#02x", i, codes[i], tc.wantCodes[i])
				}
			}
			for i := range scale {
				if scale[i] != tc.wantScale[i] {
					t.Errorf("scale[%d] = %g, want %g", i, scale[i], tc.wantScale[i])
				}
			}
		})
	}
}

// Dequantized weights are within half an E4M3 step of the original: a
// relative error of at most 2^-4 for normals, and an absolute error of at
// most 2^-10 · scale in the subnormal range.
func TestQuantizeDequantizeError(t *testing.T) {
	const out, in = 16, 64
	rng := rand.New(rand.NewPCG(5, 6))
	w := make([]float32, out*in)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.05)
	}
	codes, scale := QuantizeRows(w, out, in)
	got := DequantizeRows(codes, scale, out, in)
	for i, v := range w {
		s := float64(scale[i/in])
		tol := math.Max(math.Abs(float64(v))/16, s*0x1p-10) * 1.0001
		if d := math.Abs(float64(got[i]) - float64(v)); d > tol {
			t.Fatalf("w[%d] = %g dequantized to %g (error %g > %g)", i, v, got[i], d, tol)
		}
	}
}

func TestQuantizeRowsPanicsOnBadShape(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a mismatched shape")
		}
	}()
	QuantizeRows(make([]float32, 5), 2, 2)
}
