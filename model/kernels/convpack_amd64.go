//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func convPack32AVX512(dst *float32, in *float32, n int, offs *int, masks *uint32, taps, ci, tap, kc int)

// convPack32 is the vector im2col packer for 32-wide panels, or nil.
var convPack32 = func() func(dst *float32, in *float32, n int, offs *int, masks *uint32, taps, ci, tap, kc int) {
	if cpu.X86.HasAVX512F {
		return convPack32AVX512
	}
	return nil
}()
