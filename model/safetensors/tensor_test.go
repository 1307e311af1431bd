package safetensors

import (
	"errors"
	"math"
	"testing"
)

func TestFloat32(t *testing.T) {
	tests := []struct {
		name string
		t    Tensor
		want []float32
	}{
		{"F32", Tensor{DType: F32, Shape: []int{2}, Data: []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}}, []float32{1, -2}},
		{"BF16", Tensor{DType: BF16, Shape: []int{3}, Data: []byte{0x80, 0x3f, 0xc0, 0xbf, 0x49, 0x40}}, []float32{1, -1.5, 3.140625}},
		{"F16", Tensor{DType: F16, Shape: []int{2, 2}, Data: []byte{0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00}}, []float32{1, -2, 65504, 0x1p-24}},
		{"scalar", Tensor{DType: F32, Shape: nil, Data: []byte{0, 0, 0x20, 0x41}}, []float32{10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.t.Float32()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("len %d, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("[%d] = %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
	if _, err := (&Tensor{Name: "ids", DType: I64, Shape: []int{1}, Data: make([]byte, 8)}).Float32(); !errors.Is(err, ErrDType) {
		t.Errorf("Float32 of I64: error %v, want ErrDType", err)
	}
}

// Every binary16 pattern must widen to the value the formula gives.
func TestHalfToFloat32All(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		sign, exp, mant := h>>15, (h>>10)&0x1f, h&0x3ff
		var want float64
		switch {
		case exp == 0x1f && mant != 0:
			if got := HalfToFloat32(uint16(h)); !math.IsNaN(float64(got)) {
				t.Fatalf("%#04x: %v, want NaN", h, got)
			}
			continue
		case exp == 0x1f:
			want = math.Inf(1)
		case exp == 0:
			want = math.Ldexp(float64(mant), -24)
		default:
			want = math.Ldexp(1+float64(mant)/1024, exp-15)
		}
		if sign == 1 {
			want = -want
		}
		got := HalfToFloat32(uint16(h))
		if float64(got) != want || math.Signbit(float64(got)) != (sign == 1) {
			t.Fatalf("%#04x: %v, want %v", h, got, want)
		}
	}
}
