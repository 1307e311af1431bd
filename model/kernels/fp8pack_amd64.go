//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func fp8Decode32AVX512(dst *float32, codes *uint8, rows int, scale *float32)

//go:noescape
func fp8Decode16AVX2(dst *float32, codes *uint8, rows int, scale *float32)

// fp8Decoder returns the vector FP8 panel decoder for panels nr wide (see
// gen_fp8pack.py), or nil when this CPU has none.
func fp8Decoder(nr int) func(dst *float32, codes *uint8, rows int, scale *float32) {
	switch {
	case nr == 32 && cpu.X86.HasAVX512F:
		return fp8Decode32AVX512
	case nr == 16 && cpu.X86.HasAVX2:
		return fp8Decode16AVX2
	}
	return nil
}
