//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func winoInput4AVX(r0, r1, r2, r3 *float32, groups int, dst *float32, stride int)

//go:noescape
func winoOutput4AVX(m *float32, stride int, groups int, y0, y1 *float32, bias float32)

// winoVec reports whether the vector Winograd transforms (four tiles at a
// time, gen_winograd.py) run on this CPU.
var winoVec = cpu.X86.HasAVX

// winoInput4 and winoOutput4 call them directly (not through a func value,
// which would move the callers' stack rows to the heap).
func winoInput4(r0, r1, r2, r3 *float32, groups int, dst *float32, stride int) {
	winoInput4AVX(r0, r1, r2, r3, groups, dst, stride)
}

func winoOutput4(m *float32, stride int, groups int, y0, y1 *float32, bias float32) {
	winoOutput4AVX(m, stride, groups, y0, y1, bias)
}
