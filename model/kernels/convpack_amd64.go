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

//go:noescape
func interleave2AVX(dst, a, b *float32, n int)

// interleave2 sets dst[2i], dst[2i+1] = a[i], b[i] for i < len(a), four
// pairs at a time on CPUs with AVX.
func interleave2(dst, a, b []float32) {
	n := len(a)
	dst, b = dst[:2*n], b[:n]
	v := 0
	if n >= 4 && cpu.X86.HasAVX {
		v = n &^ 3
		interleave2AVX(&dst[0], &a[0], &b[0], n)
	}
	for x := v; x < n; x++ {
		d := dst[2*x : 2*x+2 : 2*x+2]
		d[0], d[1] = a[x], b[x]
	}
}
