//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// bestBF16 returns the BF16 kernels (gen_bf16.py) where the CPU and OS
// support AVX512-BF16 (and AVX512-BW, which the decoder uses), and nil
// elsewhere.
func bestBF16() *bf16Kernel {
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512BF16 {
		return &bf16Kernel{name: "avx512bf16-6x32", fns: bf16Fns, round32: bf16Round32, decode: fp8ToBF16}
	}
	return nil
}
