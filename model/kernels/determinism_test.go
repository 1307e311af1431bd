package kernels

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestThreadCountInvariance checks that results are bit-identical for any
// GOMAXPROCS: the model promises the same video for every worker count.
func TestThreadCountInvariance(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 1))
	const m, in, out = 97, 300, 200
	x := randSlice(r, m*in, 1)
	w := NewWeightFP8(out, in, randFP8(r, out*in), randSlice(r, out, 0.01))
	cw := NewConvWeight(20, 6, 3, 3, 3, randSlice(r, 20*6*27, 0.2), randSlice(r, 20, 1))
	cin := randSlice(r, 6*5*9*11, 1)
	wino := newConvWeight(20, 6, 3, 3, 3, randSlice(r, 20*6*27, 0.2), randSlice(r, 20, 1), true)
	p := AttnParams{NQ: 200, NK: 150, Heads: 3, HeadDim: 32, QStride: 96, KStride: 96, VStride: 96, OStride: 96}
	q, k, v := randSlice(r, 200*96, 2), randSlice(r, 150*96, 1), randSlice(r, 150*96, 1)
	run := func() (y, c, cwino, a []float32) {
		y, c, cwino, a = make([]float32, m*out), make([]float32, 20*5*9*11), make([]float32, 20*5*9*11), make([]float32, 200*96)
		Linear(y, x, m, w, nil)
		Conv3D(c, cin, 5, 9, 11, cw)
		Conv3D(cwino, cin, 5, 9, 11, wino)
		Attention(a, q, k, v, p)
		return
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	y1, c1, w1, a1 := run()
	for _, n := range []int{2, 3, 8} {
		runtime.GOMAXPROCS(n)
		y, c, cw, a := run()
		checkClose(t, "Linear", y, y1, 0, 0)
		checkClose(t, "Conv3D", c, c1, 0, 0)
		checkClose(t, "Conv3D through Winograd", cw, w1, 0, 0)
		checkClose(t, "Attention", a, a1, 0, 0)
	}
}
