package kernels

import (
	"runtime"
	"sync"
	"unsafe"
)

// Flags of a micro-kernel call (see kernel_amd64.s).
const (
	kAccumulate = 1 // C += A·B
	kColBias    = 2 // C = A·B + bias[j]
	kRowBias    = 4 // C = A·B + bias[i] (bias points at the tile's first row's)
)

// kernelFunc computes one rows×nr tile of C (rows fixed per function, 1 to
// mr) from rows of A (row stride lda, k columns) and a packed k×nr panel of
// B (row stride ldb). All pointers must address complete tiles; the driver
// routes tiles narrower than nr through scratch.
type kernelFunc func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int)

// microKernel is one family of register-blocked GEMM kernels: fns[r]
// computes r rows, for r = 1..mr, all nr columns wide. Having every row
// count avoids padding the last rows of A: Cout = 32, 64, 128 and 3 in the
// VAE are not multiples of 6.
type microKernel struct {
	name   string
	mr, nr int
	fns    [7]kernelFunc
}

// impl is one choice of implementations: the micro-kernel family of every
// GEMM and the vector loops of the activations, softmax and norms. The
// exported functions use defaultImpl(); their unexported counterparts take
// an impl, so tests run each implementation without changing any state.
type impl struct {
	mk   microKernel
	bf16 *bf16Kernel // the FP8 products' kernel; nil where the CPU has none (see bf16.go)
	vec  vecKernels
	pool *Pool // the goroutines loops are split over (nil: the caller alone)
}

// defaultImpl is the best implementation for this CPU, chosen on first use
// and never changed after, with the process's worker pool: a worker per
// CPU beyond the caller's (loops use at most GOMAXPROCS goroutines, so a
// lower GOMAXPROCS set later still limits them).
var defaultImpl = sync.OnceValue(func() *impl {
	return &impl{mk: bestKernel(), bf16: bestBF16(), vec: bestVec(), pool: NewPool(runtime.NumCPU() - 1)}
})

// goKernel is the portable family: up to 4 rows × 8 columns, 8 scalar
// accumulators per row so the compiler keeps them in registers.
var goKernel = microKernel{name: "go4x8", mr: 4, nr: 8,
	fns: [7]kernelFunc{nil, goRows(1), goRows(2), goRows(3), goRows(4)}}

// goRows is the portable kernel for a fixed row count.
func goRows(rows int) kernelFunc {
	return func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int) {
		kernelRowsx8Go(rows, k, a, lda, b, ldb, c, ldc, bias, flags)
	}
}

func kernelRowsx8Go(mr, k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, bias *float32, flags int) {
	const nr = 8
	A := unsafe.Slice(a, (mr-1)*lda+k)
	B := unsafe.Slice(b, max(k-1, 0)*ldb+nr)
	C := unsafe.Slice(c, (mr-1)*ldc+nr)
	for i := 0; i < mr; i++ {
		var c0, c1, c2, c3, c4, c5, c6, c7 float32
		ai := A[i*lda : i*lda+k]
		for p, av := range ai {
			bp := B[p*ldb : p*ldb+nr : p*ldb+nr]
			c0 += av * bp[0]
			c1 += av * bp[1]
			c2 += av * bp[2]
			c3 += av * bp[3]
			c4 += av * bp[4]
			c5 += av * bp[5]
			c6 += av * bp[6]
			c7 += av * bp[7]
		}
		ci := C[i*ldc : i*ldc+nr : i*ldc+nr]
		switch {
		case flags&kAccumulate != 0:
			c0 += ci[0]
			c1 += ci[1]
			c2 += ci[2]
			c3 += ci[3]
			c4 += ci[4]
			c5 += ci[5]
			c6 += ci[6]
			c7 += ci[7]
		case flags&kRowBias != 0:
			rb := unsafe.Slice(bias, mr)[i]
			c0 += rb
			c1 += rb
			c2 += rb
			c3 += rb
			c4 += rb
			c5 += rb
			c6 += rb
			c7 += rb
		case flags&kColBias != 0:
			bs := unsafe.Slice(bias, nr)
			c0 += bs[0]
			c1 += bs[1]
			c2 += bs[2]
			c3 += bs[3]
			c4 += bs[4]
			c5 += bs[5]
			c6 += bs[6]
			c7 += bs[7]
		}
		ci[0], ci[1], ci[2], ci[3] = c0, c1, c2, c3
		ci[4], ci[5], ci[6], ci[7] = c4, c5, c6, c7
	}
}
