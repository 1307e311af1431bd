package kernels

import (
	"runtime"
	"sync"
)

// panelSource supplies packed panels of the B operand of a GEMM.
type panelSource interface {
	// pack writes B[k0:k0+kc, j0:j0+nr] into dst with row stride nr,
	// writing zeros for columns j ≥ N.
	pack(dst []float32, k0, kc, j0, nr int)
}

// gemm describes C[m×n] = A[m×k]·B[k×n] (+ bias) for the blocked driver.
// A is row-major with row stride lda and is read in place (the kernels
// address its rows directly, so it is never packed); B is delivered in
// k-block × nr-column panels by a panelSource, which is where weights are
// transposed or dequantised and where convolutions do their im2col. Each
// panel is packed once, right before use, into a buffer that stays in L1
// while every row tile of the worker's row range streams past it.
type gemm struct {
	m, n, k int
	a       []float32
	lda     int
	c       []float32
	ldc     int
	colBias []float32 // len n, or nil: C[i][j] += colBias[j]
	rowBias []float32 // len m, or nil: C[i][j] += rowBias[i]
	// source returns the panel source of one worker; sources with scratch
	// state must return a fresh one per call.
	source func() panelSource
}

// minParallelFlops is the problem size below which splitting across
// goroutines costs more than it saves.
const minParallelFlops = 1 << 20

// kcFor picks the K-block for panels nr wide: the packed panel (kc·nr floats)
// should take at most ~40 KiB so it stays in L1 beside the A and C lines,
// and blocks are balanced so no tiny remainder block is left over.
func kcFor(k, nr int) int {
	kcMax := 10240 / nr
	nb := (k + kcMax - 1) / kcMax
	return (k + nb - 1) / nb
}

// run computes the product with micro-kernel mk, splitting the row tiles ×
// column panels grid over up to GOMAXPROCS goroutines. Splitting columns is
// preferred because each worker then packs only its own panels.
func (g *gemm) run(mk microKernel) {
	if g.m == 0 || g.n == 0 {
		return
	}
	if g.k == 0 {
		g.fillBias(0, g.m, 0, g.n)
		return
	}
	np := (g.n + mk.nr - 1) / mk.nr
	mt := (g.m + mk.mr - 1) / mk.mr
	threads := runtime.GOMAXPROCS(0)
	if 2*g.m*g.n*g.k < minParallelFlops {
		threads = 1
	}
	gn := min(threads, np)
	gm := min((threads+gn-1)/gn, mt)
	if gn*gm == 1 {
		g.worker(mk, 0, g.m, 0, np)
		return
	}
	var wg sync.WaitGroup
	for u := gn*gm - 1; u >= 0; u-- {
		bi, bj := u/gn, u%gn
		i0, i1 := mk.mr*(mt*bi/gm), min(g.m, mk.mr*(mt*(bi+1)/gm))
		p0, p1 := np*bj/gn, np*(bj+1)/gn
		if u == 0 {
			g.worker(mk, i0, i1, p0, p1)
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.worker(mk, i0, i1, p0, p1)
		}()
	}
	wg.Wait()
}

// worker computes rows [i0,i1) × column panels [p0,p1). i0 is a multiple of
// mr. Edge tiles (fewer than mr rows or nr columns) are computed into a
// scratch tile from a zero-padded copy of the last rows of A, so the kernels
// only ever see whole tiles.
func (g *gemm) worker(mk microKernel, i0, i1, p0, p1 int) {
	mr, nr := mk.mr, mk.nr
	kc := kcFor(g.k, nr)
	panel := make([]float32, kc*nr)
	tile := make([]float32, mr*nr)
	src := g.source()

	iFull := i0 + (i1-i0)/mr*mr // rows [iFull, i1) form the partial tile
	var aTail []float32
	if iFull < i1 {
		aTail = make([]float32, mr*g.k)
		for r := iFull; r < i1; r++ {
			copy(aTail[(r-iFull)*g.k:(r-iFull+1)*g.k], g.a[r*g.lda:r*g.lda+g.k])
		}
	}

	for k0 := 0; k0 < g.k; k0 += kc {
		kb := min(kc, g.k-k0)
		first := k0 == 0
		for p := p0; p < p1; p++ {
			j0 := p * nr
			jw := min(nr, g.n-j0)
			src.pack(panel, k0, kb, j0, nr)
			for i := i0; i < iFull && jw == nr; i += mr {
				c := &g.c[i*g.ldc+j0]
				flags, bias := kAccumulate, (*float32)(nil)
				if first {
					flags = 0
					if g.rowBias != nil {
						g.fillBias(i, i+mr, j0, j0+nr)
						flags = kAccumulate
					} else if g.colBias != nil {
						flags, bias = kColBias, &g.colBias[j0]
					}
				}
				mk.fn(kb, &g.a[i*g.lda+k0], g.lda, &panel[0], nr, c, g.ldc, bias, flags)
			}
			if jw < nr {
				for i := i0; i < iFull; i += mr {
					g.edgeTile(mk, tile, &g.a[i*g.lda+k0], g.lda, panel, kb, first, i, mr, j0, jw)
				}
			}
			if aTail != nil {
				g.edgeTile(mk, tile, &aTail[k0], g.k, panel, kb, first, iFull, i1-iFull, j0, jw)
			}
		}
	}
}

// edgeTile computes the rows×jw corner of C at (i, j0) through scratch.
func (g *gemm) edgeTile(mk microKernel, tile []float32, a *float32, lda int, panel []float32, kb int, first bool, i, rows, j0, jw int) {
	nr := mk.nr
	clear(tile)
	for r := 0; r < rows; r++ {
		t := tile[r*nr : r*nr+jw]
		if !first {
			copy(t, g.c[(i+r)*g.ldc+j0:])
			continue
		}
		if g.colBias != nil {
			copy(t, g.colBias[j0:])
		}
		if g.rowBias != nil {
			for j := range t {
				t[j] += g.rowBias[i+r]
			}
		}
	}
	mk.fn(kb, a, lda, &panel[0], nr, &tile[0], nr, nil, kAccumulate)
	for r := 0; r < rows; r++ {
		copy(g.c[(i+r)*g.ldc+j0:(i+r)*g.ldc+j0+jw], tile[r*nr:])
	}
}

// fillBias sets C[i0:i1, j0:j1] to the bias (zero when there is none).
func (g *gemm) fillBias(i0, i1, j0, j1 int) {
	for i := i0; i < i1; i++ {
		row := g.c[i*g.ldc+j0 : i*g.ldc+j1]
		var rb float32
		if g.rowBias != nil {
			rb = g.rowBias[i]
		}
		if g.colBias != nil {
			for j := range row {
				row[j] = g.colBias[j0+j] + rb
			}
		} else {
			for j := range row {
				row[j] = rb
			}
		}
	}
}
