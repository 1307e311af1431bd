package kernels

import "unsafe"

// Winograd F(2×2, 3×3) for the VAE's wide 3×3 convolutions.
//
// A 2×2 block of outputs of a 3×3 convolution needs 36 multiplications per
// input channel and tap row computed directly, and 16 in the Winograd
// domain: the 4×4 input tile d and the kernel g are transformed
// (V = Bᵀ·d·B, U = G·g·Gᵀ), multiplied elementwise, and transformed back
// (Y = Aᵀ·(U ⊙ V)·A). Summed over input channels, the elementwise products
// become 16 independent GEMMs, U_ξ[Cout × KT·Cin] · V_ξ[KT·Cin × tiles],
// which run on the same micro-kernel as everything else: 2.25× fewer
// flops. The temporal taps stay direct: they are part of K (row dt·Cin+ci
// of V_ξ is the transformed input dt frames later), so a 3×3×3 kernel is
// one GEMM per ξ too.
//
// The transforms (vector code, gen_winograd.py) cost O(Cin + Cout) per tile
// against the GEMMs' O(KT·Cin·Cout), so Winograd pays only on layers with
// enough GEMM work per transform (winogradMinWork); the others stay on
// the im2col GEMM.
//
// F(2×2, 3×3) is the small variant on purpose: its transforms have
// coefficients 0, ±1 and ½, so its float32 error stays within 4× the
// direct sum's rounding bound (TestConv3DWinograd), where the larger tiles
// of F(4×4, 3×3) bring errors one to two orders of magnitude larger.

const (
	// winogradMinWork is the least KT·Cin·Cout/(Cin+Cout), the GEMM work
	// per transformed value, at which a 3×3 convolution runs through
	// Winograd. reel-tiny's decoder layers have 192 (res0), 102 (up0),
	// 96 (res1), 51 (up1), 21 (up2) and 16 (res2); measured one by one
	// (BenchmarkConv3D's im2col and winograd paths, BENCHMARKS.md), the
	// first four are faster through Winograd and the last two slower.
	winogradMinWork = 40
	// winogradBlockBytes sizes a call's scratch, about: the transformed
	// input and the products of one block of frames (whole frames, at
	// least one), so the scratch does not grow with the chunk's length.
	winogradBlockBytes = 2 << 20
)

// useWinograd reports whether a convolution of this shape runs through
// Winograd.
func useWinograd(cout, cin, kt, kh, kw int) bool {
	return kh == 3 && kw == 3 && kt*cin*cout >= winogradMinWork*(cin+cout)
}

// winogradWeights transforms w [Cout][Cin][KT][3][3] into U, 16 matrices
// [Cout][KT·Cin] (ξ = 4·row + column of the 4×4 transform; column
// dt·Cin + ci), computed in float64 and rounded once.
func winogradWeights(cout, cin, kt int, w []float32) []float32 {
	k := kt * cin
	u := make([]float32, 16*cout*k)
	for co := range cout {
		for ci := range cin {
			for dt := range kt {
				g := w[((co*cin+ci)*kt+dt)*9:][:9]
				var gg [4][3]float64 // G·g
				for c := range 3 {
					g0, g1, g2 := float64(g[c]), float64(g[3+c]), float64(g[6+c])
					gg[0][c], gg[1][c], gg[2][c], gg[3][c] = g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2
				}
				for a := range 4 {
					h0, h1, h2 := gg[a][0], gg[a][1], gg[a][2]
					row := [4]float64{h0, (h0 + h1 + h2) / 2, (h0 - h1 + h2) / 2, h2} // (G·g)·Gᵀ
					for b, v := range row {
						u[((4*a+b)*cout+co)*k+dt*cin+ci] = float32(v)
					}
				}
			}
		}
	}
	return u
}

// winogradPlan is the geometry of one Winograd convolution call.
type winogradPlan struct {
	cin, cout, kt, pad int
	t, h, w            int
	th, tw, nt         int // output tiles per column, per row, per frame
	fb                 int // frames per block
	rowLen             int // a transformed input row: (fb + 2·pad) frames of tiles
	// vec: the vector transforms (winoInput4, winoOutput4) take the
	// tiles of a row four at a time, the scalar loops the last tw%4;
	// without them the scalar loops take every tile.
	vec bool
	// Distance between the 16 ξ planes of the transformed input and of
	// the products. A transform touches all 16 at once, so the planes are
	// kept off multiples of 4 KiB: at 96 KiB apart (res1) the 16 streams
	// fell into one L1 set of 8 ways and the input transform ran 4× slower.
	vinStride, prodStride int
}

// planeStride is n floats rounded up to whole cache lines, plus one line,
// so that consecutive planes start in different L1 sets.
func planeStride(n int) int { return (n+15)/16*16 + 16 }

func newWinogradPlan(cw *ConvWeight, t, h, w int) winogradPlan {
	p := winogradPlan{cin: cw.Cin, cout: cw.Cout, kt: cw.KT, pad: cw.KT / 2, t: t, h: h, w: w, vec: winoVec}
	p.th, p.tw = (h+1)/2, (w+1)/2
	p.nt = p.th * p.tw
	perFrame := 4 * 16 * (p.cin + p.cout) * p.nt
	fb := min(max(winogradBlockBytes/perFrame, 1), t)
	blocks := (t + fb - 1) / fb
	p.fb = (t + blocks - 1) / blocks // balanced: no short last block
	p.rowLen = (p.fb + 2*p.pad) * p.nt
	p.vinStride, p.prodStride = planeStride(p.cin*p.rowLen), planeStride(p.cout*p.fb*p.nt)
	return p
}

// scratchFloats is what a call on threads goroutines allocates: the
// transformed input and the products of one block, and a packing panel
// per goroutine.
func (p winogradPlan) scratchFloats(threads int) int {
	return 16*p.vinStride + 16*p.prodStride + threads*PanelFloats
}

// ConvScratchBytes is the scratch one Conv3D call of this shape over
// t×h×w positions on threads goroutines needs through Winograd (its block
// buffers and packing panels): what a plain call allocates, and what a
// ConvScratch grows to. It is 0 when the shape takes the im2col GEMM
// (whose panels are a plain GEMM's). The memory model (internal/mem)
// replays it.
func ConvScratchBytes(cout, cin, kt, kh, kw, t, h, w, threads int) int64 {
	if !useWinograd(cout, cin, kt, kh, kw) {
		return 0
	}
	p := newWinogradPlan(&ConvWeight{Cout: cout, Cin: cin, KT: kt}, t, h, w)
	// One allocation, which the Go runtime rounds up to whole 8 KiB pages.
	const page = 8 << 10
	return (4*int64(p.scratchFloats(threads)) + page - 1) / page * page
}

// ConvScratch is scratch memory that Conv3D calls through Winograd reuse
// (Conv3DWith): a caller that convolves again and again, like a VAE
// decoder, keeps one instead of allocating a call's few MB every time —
// zeroing and faulting those in took a third of a call's time on two
// cores. It grows to the largest call it serves. The zero value is ready
// to use; a ConvScratch must not be used by two calls at once.
type ConvScratch struct{ buf []float32 }

// floats returns n floats of scratch, growing the buffer to exactly n
// (what ConvScratchBytes counts) when it is smaller. A nil s allocates.
func (s *ConvScratch) floats(n int) []float32 {
	if s == nil {
		return make([]float32, n)
	}
	if len(s.buf) < n {
		s.buf = make([]float32, n)
	}
	return s.buf[:n]
}

// winogradConv3D computes out = Conv3D(in) through Winograd, and with res
// set also res += out, block of frames by block, in scratch s (nil: its
// own).
func winogradConv3D(im *impl, s *ConvScratch, res, out, in []float32, t, h, w int, cw *ConvWeight) {
	p := newWinogradPlan(cw, t, h, w)
	n := t * h * w
	if len(in) < p.cin*n || len(out) < p.cout*n || (res != nil && len(res) < p.cout*n) {
		panic("kernels: Conv3D: bad sizes")
	}
	mk := im.mk
	// The most goroutines a block's GEMMs run on, each with its panel.
	width := im.pool.Width(16 * ((p.fb*p.nt + mk.nr - 1) / mk.nr))
	// One buffer for all the scratch (see ConvScratchBytes). It is not
	// cleared: every element is written before it is read.
	buf := s.floats(p.scratchFloats(width))
	vin, prod, panels := buf[:16*p.vinStride], buf[16*p.vinStride:16*(p.vinStride+p.prodStride)], buf[16*(p.vinStride+p.prodStride):]
	tiles := rowTiles(p.cout, mk.mr)
	k := p.kt * p.cin
	// The 16 GEMMs' sources and their closures are made once per call:
	// per block and part they would be garbage the memory model misses.
	var srcs [16]winogradSource
	var sources [16]func() panelSource
	for xi := range srcs {
		srcs[xi] = winogradSource{vin: vin[xi*p.vinStride:], cin: p.cin, rowLen: p.rowLen, nt: p.nt}
		src := &srcs[xi]
		sources[xi] = func() panelSource { return src }
	}
	// The block being computed, read by the three loops' closures, which
	// are made once per call for the same reason.
	var z0, nf, cols, frames, np, gn int
	transformIn := func(r0, r1 int) {
		var stack [4 * stackRowFloats]float32
		rows := p.rowScratch(stack[:])
		for r := r0; r < r1; r++ {
			ci, f := r/frames, r%frames
			dst := vin[ci*p.rowLen+f*p.nt:]
			stride := p.vinStride
			if z := z0 - p.pad + f; z >= 0 && z < t {
				p.input(dst, stride, in[(ci*t+z)*h*w:][:h*w], rows)
			} else {
				for xi := range 16 {
					clear(dst[xi*stride:][:p.nt])
				}
			}
		}
	}
	multiply := func(slot, u int) {
		xi, bj := u/gn, u%gn
		g := gemm{
			m: p.cout, n: cols, k: k,
			panel: panels[slot*PanelFloats : (slot+1)*PanelFloats],
			a:     cw.wino[xi*p.cout*k:], lda: k,
			c: prod[xi*p.prodStride:], ldc: cols,
			source: sources[xi],
		}
		g.worker(mk, 0, tiles, np*bj/gn, np*(bj+1)/gn)
	}
	transformOut := func(r0, r1 int) {
		var stack [4 * stackRowFloats]float32
		rows := p.rowScratch(stack[:])
		for r := r0; r < r1; r++ {
			co, f := r/nf, r%nf
			off := (co*t + z0 + f) * h * w
			var rs []float32
			if res != nil {
				rs = res[off:][:h*w]
			}
			p.output(&im.vec, out[off:][:h*w], rs, prod[co*cols+f*p.nt:], p.prodStride, cw.Bias[co], rows)
		}
	}
	for z0 = 0; z0 < t; z0 += p.fb {
		nf = min(p.fb, t-z0)
		cols = nf * p.nt
		frames = nf + 2*p.pad
		// Input frames z0-pad .. z0+nf+pad-1, zero outside the chunk.
		im.pool.Rows(p.cin*frames, 1, transformIn)
		// The 16 GEMMs, a few column ranges each when there are threads
		// to spare.
		np = (cols + mk.nr - 1) / mk.nr
		threads := min(width, im.pool.Width(16*np))
		gn = min(np, max(1, (partsPerThread*threads+15)/16))
		for xi := range srcs {
			srcs[xi].cols = cols
		}
		im.pool.For(threads, 16*gn, multiply)
		im.pool.Rows(p.cout*nf, 1, transformOut)
	}
}

// winogradSource is V_ξ as a panelSource: row dt·Cin + ci, column j is
// channel ci's transformed input at tile j, dt frames later (vin holds pad
// frames before the block's first).
type winogradSource struct {
	vin                   []float32
	cin, rowLen, nt, cols int
}

func (s *winogradSource) pack(dst []float32, k0, kc, j0, nr int) {
	w := min(nr, s.cols-j0)
	for kk := range kc {
		dt, ci := (k0+kk)/s.cin, (k0+kk)%s.cin
		src := s.vin[ci*s.rowLen+dt*s.nt+j0:]
		row := dst[kk*nr : kk*nr+nr]
		if w == nr {
			copyPanelRow(row, src[:nr])
			continue
		}
		copy(row, src[:w])
		clear(row[w:])
	}
}

// stackRowFloats is the frame width up to which the transforms' padded
// rows live on the stack; wider frames allocate them.
const stackRowFloats = 520

// rowScratch returns the padded rows input (four) and output (two) need
// for a frame of p, in stack when it fits. It is called once per part of
// a parallel loop: a 4 KiB stack array per plane cost more to zero than
// the plane's output transform.
func (p winogradPlan) rowScratch(stack []float32) []float32 {
	if n := 4 * (2*p.tw + 2); n > len(stack) {
		return make([]float32, n)
	}
	return stack
}

// input writes Bᵀ·d·B of every 4×4 tile of one frame plane [h·w] (tile
// (ty, tx) starts at row 2ty-1, column 2tx-1; zeros outside) to
// dst[ξ·stride + tile]. The four input rows of a row of tiles are copied
// into zero-padded rows of buf (rowScratch) first, so the tile loop reads
// without edge cases. The tile loop is unrolled by hand (the compiler does not unroll)
// and addresses the 16 outputs through one pointer: with 16 slices, the
// bounds checks and slice headers took three quarters of its time.
func (p winogradPlan) input(dst []float32, stride int, plane, buf []float32) {
	h, w, tw := p.h, p.w, p.tw
	_ = dst[15*stride+p.nt-1] // every store below is inside dst
	width := 2*tw + 2
	var rows [4][]float32
	for i := range rows {
		rows[i] = buf[i*width : (i+1)*width : (i+1)*width]
	}
	st := uintptr(stride) * 4
	for ty := range p.th {
		for r, row := range rows {
			row[0] = 0
			if y := 2*ty - 1 + r; y >= 0 && y < h {
				copy(row[1:], plane[y*w:][:w])
				clear(row[1+w:])
			} else {
				clear(row)
			}
		}
		r0, r1, r2, r3 := rows[0], rows[1], rows[2], rows[3]
		first := 0
		if p.vec && tw >= 4 {
			first = tw / 4 * 4
			winoInput4(&r0[0], &r1[0], &r2[0], &r3[0], tw/4, &dst[ty*tw], stride)
		}
		o := unsafe.Pointer(&dst[ty*tw])
		for tx := first; tx < tw; tx++ {
			c := 2 * tx
			d0, d1, d2, d3 := r0[c:c+4:c+4], r1[c:c+4:c+4], r2[c:c+4:c+4], r3[c:c+4:c+4]
			// Bᵀ·d, rows (d0-d2, d1+d2, d2-d1, d1-d3), then ·B on each:
			// (t0-t2, t1+t2, t2-t1, t1-t3). The vector transform does the
			// same operations in the same order.
			var t [4][4]float32
			for c := range 4 {
				t[0][c], t[1][c], t[2][c], t[3][c] = d0[c]-d2[c], d1[c]+d2[c], d2[c]-d1[c], d1[c]-d3[c]
			}
			q := unsafe.Add(o, tx*4)
			for a := range 4 {
				ta := &t[a]
				store4(unsafe.Add(q, uintptr(4*a)*st), st, ta[0]-ta[2], ta[1]+ta[2], ta[2]-ta[1], ta[1]-ta[3])
			}
		}
	}
}

// store4 stores v0..v3 at p, p+st, p+2st, p+3st (bytes).
func store4(p unsafe.Pointer, st uintptr, v0, v1, v2, v3 float32) {
	*(*float32)(p) = v0
	*(*float32)(unsafe.Add(p, st)) = v1
	*(*float32)(unsafe.Add(p, 2*st)) = v2
	*(*float32)(unsafe.Add(p, 3*st)) = v3
}

// load4 loads the floats at p, p+st, p+2st, p+3st (bytes).
func load4(p unsafe.Pointer, st uintptr) (v0, v1, v2, v3 float32) {
	return *(*float32)(p), *(*float32)(unsafe.Add(p, st)), *(*float32)(unsafe.Add(p, 2*st)), *(*float32)(unsafe.Add(p, 3*st))
}

// output writes Aᵀ·M·A + bias of every tile of one output plane [h·w]
// (M_ξ at m[ξ·stride + tile]) to out, and adds it to res when set. A row
// of tiles goes straight into its two output rows when they are whole
// (even width and height); otherwise through two rows of buf
// (rowScratch) padded to whole tiles.
func (p winogradPlan) output(vec *vecKernels, out, res, m []float32, stride int, bias float32, buf []float32) {
	h, w, tw := p.h, p.w, p.tw
	_ = m[15*stride+p.nt-1] // every load below is inside m
	st := uintptr(stride) * 4
	width := 2 * tw
	for ty := range p.th {
		y := 2 * ty
		direct := w == width && y+1 < h
		y0, y1 := buf[:width:width], buf[width:2*width]
		if direct {
			y0, y1 = out[y*w:][:w:w], out[(y+1)*w:][:w:w]
		}
		first := 0
		if p.vec && tw >= 4 {
			first = tw / 4 * 4
			winoOutput4(&m[ty*tw], stride, tw/4, &y0[0], &y1[0], bias)
		}
		o := unsafe.Pointer(&m[ty*tw])
		for tx := first; tx < tw; tx++ {
			q := unsafe.Add(o, tx*4)
			// M·A on each row: (m0+m1+m2, m1-m2-m3)
			m0, m1, m2, m3 := load4(q, st)
			u0, u1 := m0+m1+m2, m1-m2-m3
			m0, m1, m2, m3 = load4(unsafe.Add(q, 4*st), st)
			v0, v1 := m0+m1+m2, m1-m2-m3
			m0, m1, m2, m3 = load4(unsafe.Add(q, 8*st), st)
			x0, x1 := m0+m1+m2, m1-m2-m3
			m0, m1, m2, m3 = load4(unsafe.Add(q, 12*st), st)
			z0, z1 := m0+m1+m2, m1-m2-m3
			// Aᵀ· on each column
			c := 2 * tx
			a, b := y0[c:c+2:c+2], y1[c:c+2:c+2]
			a[0], a[1] = u0+v0+x0+bias, u1+v1+x1+bias
			b[0], b[1] = v0-x0-z0+bias, v1-x1-z1+bias
		}
		for i, row := range [2][]float32{y0[:w], y1[:w]} {
			if y+i >= h {
				break
			}
			dst := out[(y+i)*w:][:w]
			if !direct {
				copy(dst, row)
			}
			if res != nil {
				addInto(vec, res[(y+i)*w:][:w], dst) // dst is out's, never the stack rows
			}
		}
	}
}
