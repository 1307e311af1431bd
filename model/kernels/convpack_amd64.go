//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func convPack32AVX512(dst *float32, in *float32, n int, offs *int, masks *uint32, taps, ci, tap, kc int)

//go:noescape
func convPack16AVX2(dst *float32, in *float32, n int, offs *int, masks *uint32, taps, ci, tap, kc int)

// convPack32 and convPack16 are the vector im2col packers for 32- and
// 16-wide panels, or nil.
var convPack32 = func() func(dst *float32, in *float32, n int, offs *int, masks *uint32, taps, ci, tap, kc int) {
	if cpu.X86.HasAVX512F {
		return convPack32AVX512
	}
	return nil
}()

var convPack16 = func() func(dst *float32, in *float32, n int, offs *int, masks *uint32, taps, ci, tap, kc int) {
	if cpu.X86.HasAVX2 {
		return convPack16AVX2
	}
	return nil
}()
