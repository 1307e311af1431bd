package kernels

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
	// kc, when set, is the K-block (FP8 products fix theirs, see kcBF16);
	// otherwise kcFor picks it.
	kc int
	// panel, when set, is the packing buffer (at least kcFor(k, nr)·nr
	// floats) of a gemm whose caller runs worker itself and owns one
	// buffer per goroutine; otherwise each worker call allocates its own.
	panel []float32
	// epilogue, when set, is called once C[i0:i1, j0:j1] is final (after
	// its last K-block), while that tile is still in cache: the place for
	// elementwise work on the product (an activation, a residual add).
	// Calls for disjoint tiles may run concurrently.
	epilogue func(i0, i1, j0, j1 int)
}

// minParallelFlops is the problem size below which splitting across
// goroutines costs more than it saves.
const minParallelFlops = 1 << 20

// partsPerThread is how many parts per goroutine a parallel loop is cut
// into: parts are taken dynamically, so a goroutine slowed down by another
// process on its core ends up with fewer.
const partsPerThread = 4

// PanelFloats bounds a packed panel of the B operand (kcFor keeps kc·nr
// within it): 40 KiB, so it stays in L1 beside the A and C lines. A GEMM
// part packs one at a time; the memory model (internal/mem) counts them.
const PanelFloats = 10240

// kcFor picks the K-block for panels nr wide: the packed panel (kc·nr
// floats) within PanelFloats, and blocks balanced so no tiny remainder
// block is left over.
func kcFor(k, nr int) int {
	if k <= 0 {
		return 0
	}
	kcMax := PanelFloats / nr
	nb := (k + kcMax - 1) / kcMax
	return (k + nb - 1) / nb
}

// rowTiles splits m rows into tiles of at most mr rows, as few as possible
// and none smaller than needed: a remainder of one or two rows is merged
// with a full tile and split in two, since a 1- or 2-row kernel keeps too
// few accumulators in flight to hide FMA latency. Returns tile heights.
func rowTiles(m, mr int) []int {
	q, rem := m/mr, m%mr
	tiles := make([]int, 0, q+2)
	for range q {
		tiles = append(tiles, mr)
	}
	if rem > 0 && rem < mr/2 && q > 0 {
		last := mr + rem
		tiles[q-1] = last - last/2
		tiles = append(tiles, last/2)
	} else if rem > 0 {
		tiles = append(tiles, rem)
	}
	return tiles
}

// run computes the product with implementation im, splitting the row tiles
// × column panels grid into up to GOMAXPROCS parts run on im's pool.
// Splitting columns is preferred because each part then packs only its own
// panels. The grid of parts depends only on the sizes and GOMAXPROCS, and a
// part computes the same elements whoever runs it.
func (g *gemm) run(im *impl) {
	mk := im.mk
	if g.m == 0 || g.n == 0 {
		return
	}
	if g.k == 0 {
		g.fillBias(0, g.m, 0, g.n)
		if g.epilogue != nil {
			g.epilogue(0, g.m, 0, g.n)
		}
		return
	}
	forParts(im, g.m, g.n, g.k, mk.mr, mk.nr, func(i0 int, ts []int, p0, p1 int) {
		g.worker(mk, i0, ts, p0, p1)
	})
}

// forParts splits the row tiles (at most mr rows) × column panels (nr
// wide) of an m×n product with K k into up to GOMAXPROCS·partsPerThread
// parts run on im's pool, and calls work for each with the row of its
// first tile, its tiles and its panels [p0, p1). Splitting columns is
// preferred because each part then packs only its own panels. The grid of
// parts depends only on the sizes and GOMAXPROCS, and a part computes the
// same elements whoever runs it.
func forParts(im *impl, m, n, k, mr, nr int, work func(i0 int, ts []int, p0, p1 int)) {
	tiles := rowTiles(m, mr)
	np := (n + nr - 1) / nr
	mt := len(tiles)
	threads := im.pool.Width(np * mt)
	if 2*m*n*k < minParallelFlops {
		threads = 1
	}
	if threads == 1 {
		work(0, tiles, 0, np)
		return
	}
	// partsPerThread parts per goroutine, so that a goroutine whose core
	// is shared with another process (this machine's normal state) takes
	// fewer of them instead of holding up the call.
	parts := partsPerThread * threads
	gn := min(parts, np)
	gm := min((parts+gn-1)/gn, mt)
	if gn*gm == 1 {
		work(0, tiles, 0, np)
		return
	}
	// Row offset of each tile group's first tile.
	starts := make([]int, gm+1)
	for bi := 0; bi <= gm; bi++ {
		for _, h := range tiles[:mt*bi/gm] {
			starts[bi] += h
		}
	}
	im.pool.For(threads, gn*gm, func(_, u int) {
		bi, bj := u/gn, u%gn
		i0, ts := starts[bi], tiles[mt*bi/gm:mt*(bi+1)/gm]
		p0, p1 := np*bj/gn, np*(bj+1)/gn
		work(i0, ts, p0, p1)
	})
}

// worker computes the row tiles ts (the first starting at row i0) × column
// panels [p0,p1). Panels narrower than nr (the last one, when nr does not
// divide n) are computed through a scratch tile.
func (g *gemm) worker(mk microKernel, i0 int, ts []int, p0, p1 int) {
	nr := mk.nr
	kc := g.kc
	if kc == 0 {
		kc = kcFor(g.k, nr)
	}
	src := g.source()
	pre, isPre := src.(prepacked)
	isPre = isPre && pre.nr == nr
	var panel []float32 // packing buffer (prepacked sources of this width need none)
	if !isPre {
		panel = g.panel
		if len(panel) < kc*nr {
			panel = make([]float32, kc*nr)
		}
		panel = panel[:kc*nr]
	}
	var tile []float32
	for k0 := 0; k0 < g.k; k0 += kc {
		kb := min(kc, g.k-k0)
		first, last := k0 == 0, k0+kb == g.k
		for p := p0; p < p1; p++ {
			j0 := p * nr
			jw := min(nr, g.n-j0)
			panel := panel
			if isPre {
				panel = pre.panelAt(k0, kb, j0, nr)
			} else {
				src.pack(panel, k0, kb, j0, nr)
			}
			i := i0
			for _, rows := range ts {
				a := &g.a[i*g.lda+k0]
				if jw < nr {
					if tile == nil {
						tile = make([]float32, mk.mr*nr)
					}
					g.edgeTile(mk.fns[rows], tile, a, panel, kb, first, i, rows, j0, jw, nr)
					if last && g.epilogue != nil {
						g.epilogue(i, i+rows, j0, j0+jw)
					}
					i += rows
					continue
				}
				flags, bias := kAccumulate, (*float32)(nil)
				if first {
					flags = 0
					switch {
					case g.rowBias != nil && g.colBias != nil:
						g.fillBias(i, i+rows, j0, j0+nr)
						flags = kAccumulate
					case g.rowBias != nil:
						flags, bias = kRowBias, &g.rowBias[i]
					case g.colBias != nil:
						flags, bias = kColBias, &g.colBias[j0]
					}
				}
				mk.fns[rows](kb, a, g.lda, &panel[0], nr, &g.c[i*g.ldc+j0], g.ldc, bias, flags)
				if last && g.epilogue != nil {
					g.epilogue(i, i+rows, j0, j0+nr)
				}
				i += rows
			}
		}
	}
}

// edgeTile computes the rows×jw corner of C at (i, j0) through scratch.
func (g *gemm) edgeTile(fn kernelFunc, tile []float32, a *float32, panel []float32, kb int, first bool, i, rows, j0, jw, nr int) {
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
	fn(kb, a, g.lda, &panel[0], nr, &tile[0], nr, nil, kAccumulate)
	for r := 0; r < rows; r++ {
		copy(g.c[(i+r)*g.ldc+j0:(i+r)*g.ldc+j0+jw], tile[r*nr:])
	}
}

// fillBias sets C[i0:i1, j0:j1] to the bias (zero when there is none),
// for a K of zero and for a gemm with both biases; full tiles with one
// bias get it from the micro-kernel (kRowBias, kColBias) instead, in
// registers, without writing C twice. A row of one full 32- or 16-wide
// panel is one fixed-size array store (a few vector moves).
func (g *gemm) fillBias(i0, i1, j0, j1 int) {
	for i := i0; i < i1; i++ {
		row := g.c[i*g.ldc+j0 : i*g.ldc+j1]
		var rb float32
		if g.rowBias != nil {
			rb = g.rowBias[i]
		}
		switch {
		case g.colBias != nil:
			for j := range row {
				row[j] = g.colBias[j0+j] + rb
			}
		case len(row) == 32:
			*(*[32]float32)(row) = [32]float32{rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb,
				rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb}
		case len(row) == 16:
			*(*[16]float32)(row) = [16]float32{rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb, rb}
		default:
			for j := range row {
				row[j] = rb
			}
		}
	}
}
