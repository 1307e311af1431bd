package fp8

import (
	"math"
	"testing"
)

// specValue computes a code's value from the OFP8 formula in float64:
// (-1)^s · 2^(e-bias) · (1 + m/2^mbits) for normals, 2^(1-bias) · m/2^mbits
// for subnormals. isNaN/isInf follow the format's special encodings.
func specValue(c uint8, ebits, mbits, bias int, fn bool) (v float64, isNaN, isInf bool) {
	s := int(c >> 7)
	e := int(c>>mbits) & (1<<ebits - 1)
	m := int(c) & (1<<mbits - 1)
	emax := 1<<ebits - 1
	if fn && e == emax && m == 1<<mbits-1 {
		return 0, true, false
	}
	if !fn && e == emax {
		if m != 0 {
			return 0, true, false
		}
		return math.Copysign(math.Inf(1), float64(1-2*s)), false, true
	}
	frac := float64(m) / float64(int(1)<<mbits)
	if e == 0 {
		v = math.Ldexp(frac, 1-bias)
	} else {
		v = math.Ldexp(1+frac, e-bias)
	}
	if s == 1 {
		v = -v
	}
	return v, false, false
}

func TestDecodeAllCodes(t *testing.T) {
	formats := []struct {
		name        string
		decode      func(uint8) float32
		ebits, mbit int
		bias        int
		fn          bool
	}{
		{"E4M3FN", DecodeE4M3, 4, 3, 7, true},
		{"E5M2", DecodeE5M2, 5, 2, 15, false},
	}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			nans := 0
			for c := 0; c < 256; c++ {
				got := f.decode(uint8(c))
				want, isNaN, isInf := specValue(uint8(c), f.ebits, f.mbit, f.bias, f.fn)
				switch {
				case isNaN:
					nans++
					if !math.IsNaN(float64(got)) {
						t.Errorf("code %#02x = %v, want NaN", c, got)
					}
				case isInf:
					if !math.IsInf(float64(got), 0) || math.Signbit(float64(got)) != (c >= 0x80) {
						t.Errorf("code %#02x = %v, want %v", c, got, want)
					}
				default:
					if float64(got) != want || math.Signbit(float64(got)) != (c >= 0x80) {
						t.Errorf("code %#02x = %v, want %v", c, got, want)
					}
				}
			}
			wantNaNs := map[bool]int{true: 2, false: 6}[f.fn]
			if nans != wantNaNs {
				t.Errorf("%d NaN codes, want %d", nans, wantNaNs)
			}
		})
	}
}

// The spec's landmarks (notes §1.1), spelled out so a wrong bias or
// mantissa width in both the decoder and specValue would still be caught.
func TestDecodeLandmarks(t *testing.T) {
	tests := []struct {
		name   string
		decode func(uint8) float32
		code   uint8
		want   float32
	}{
		{"E4M3 max", DecodeE4M3, 0x7e, 448},
		{"E4M3 -max", DecodeE4M3, 0xfe, -448},
		{"E4M3 one", DecodeE4M3, 0x38, 1},
		{"E4M3 min normal", DecodeE4M3, 0x08, 0.015625},
		{"E4M3 max subnormal", DecodeE4M3, 0x07, 0.013671875},
		{"E4M3 min subnormal", DecodeE4M3, 0x01, 0.001953125},
		{"E4M3 0.1015625", DecodeE4M3, 0x1d, 0.1015625},
		{"E5M2 max", DecodeE5M2, 0x7b, 57344},
		{"E5M2 one", DecodeE5M2, 0x3c, 1},
		{"E5M2 min normal", DecodeE5M2, 0x04, 0x1p-14},
		{"E5M2 min subnormal", DecodeE5M2, 0x01, 0x1p-16},
		{"E5M2 +Inf", DecodeE5M2, 0x7c, float32(math.Inf(1))},
		{"E5M2 -Inf", DecodeE5M2, 0xfc, float32(math.Inf(-1))},
	}
	for _, tc := range tests {
		if got := tc.decode(tc.code); got != tc.want {
			t.Errorf("%s: code %#02x = %v, want %v", tc.name, tc.code, got, tc.want)
		}
	}
	if v := DecodeE4M3(0x80); v != 0 || !math.Signbit(float64(v)) {
		t.Errorf("E4M3 0x80 = %v, want -0", v)
	}
}

func TestTableCopies(t *testing.T) {
	tab := E4M3Table()
	tab[0x38] = 5
	if DecodeE4M3(0x38) != 1 {
		t.Error("E4M3Table returned the shared table, not a copy")
	}
	if e := E5M2Table(); e[0x3c] != 1 {
		t.Errorf("E5M2Table()[0x3c] = %v", e[0x3c])
	}
}
