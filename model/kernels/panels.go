package kernels

// transposedRows is a panelSource whose B is the transpose of a row-major
// matrix: B[k][j] = data[off + j*stride + k] for j < rows. Linear weights
// (B = Wᵀ) and attention keys (B = Kᵀ) are packed through it.
type transposedRows struct {
	data              []float32
	off, stride, rows int
}

// pack transposes four rows at a time, so each panel row gets four adjacent
// stores per step and the bounds checks are hoisted out of the inner loop.
func (s transposedRows) pack(dst []float32, k0, kc, j0, nr int) {
	dst = dst[:kc*nr]
	jj := 0
	for ; jj+4 <= nr && j0+jj+4 <= s.rows; jj += 4 {
		b := s.off + (j0+jj)*s.stride + k0
		r0 := s.data[b : b+kc]
		r1 := s.data[b+s.stride : b+s.stride+kc]
		r2 := s.data[b+2*s.stride : b+2*s.stride+kc]
		r3 := s.data[b+3*s.stride : b+3*s.stride+kc]
		for kk := range r0 {
			d := dst[kk*nr+jj : kk*nr+jj+4 : kk*nr+jj+4]
			d[0], d[1], d[2], d[3] = r0[kk], r1[kk], r2[kk], r3[kk]
		}
	}
	for ; jj < nr; jj++ { // the last columns: fewer than 4 rows left
		j := j0 + jj
		for kk := 0; kk < kc; kk++ {
			var v float32
			if j < s.rows {
				v = s.data[s.off+j*s.stride+k0+kk]
			}
			dst[kk*nr+jj] = v
		}
	}
}

// strideRows is a panelSource whose B is a row-major matrix of cols columns
// read in place: B[k][j] = data[off + k*stride + j] for j < cols. Attention
// values (O = P·V) are packed through it.
type strideRows struct {
	data              []float32
	off, stride, cols int
}

func (s strideRows) pack(dst []float32, k0, kc, j0, nr int) {
	w := min(nr, s.cols-j0)
	for kk := 0; kk < kc; kk++ {
		b := s.off + (k0+kk)*s.stride + j0
		row := dst[kk*nr : kk*nr+nr]
		if w == nr {
			copyPanelRow(row, s.data[b:b+nr])
			continue
		}
		copy(row, s.data[b:b+w])
		clear(row[w:])
	}
}

// prepacked is a panelSource whose panels were packed ahead of time: panel
// p (columns p·nr …) is buf[p·k·nr : (p+1)·k·nr], k rows of nr floats, so
// any K-block of it is contiguous and is used in place. Columns n and up
// of the last panel are zeros.
type prepacked struct {
	buf      []float32
	k, n, nr int
}

// prepack packs the k×n matrix of src into panels nr wide.
func prepack(src panelSource, k, n, nr int) prepacked {
	panels := (n + nr - 1) / nr
	p := prepacked{buf: make([]float32, panels*k*nr), k: k, n: n, nr: nr}
	for j := 0; j < panels; j++ {
		src.pack(p.buf[j*k*nr:], 0, k, j*nr, nr)
	}
	return p
}

// pack copies a panel; a width other than the stored one (a kernel swapped
// in after packing, as tests do) is gathered element by element.
func (s prepacked) pack(dst []float32, k0, kc, j0, nr int) {
	if nr == s.nr {
		copy(dst[:kc*nr], s.panelAt(k0, kc, j0, nr))
		return
	}
	for kk := 0; kk < kc; kk++ {
		for jj := 0; jj < nr; jj++ {
			var v float32
			if j := j0 + jj; j < s.n {
				v = s.at(k0+kk, j)
			}
			dst[kk*nr+jj] = v
		}
	}
}

// at returns B[k][j].
func (s prepacked) at(k, j int) float32 {
	return s.buf[(j/s.nr)*s.k*s.nr+k*s.nr+j%s.nr]
}

// panelAt returns the packed panel of columns [j0, j0+nr), rows [k0, k0+kc).
func (s prepacked) panelAt(k0, kc, j0, nr int) []float32 {
	if nr != s.nr {
		panic("kernels: prepacked panel width mismatch")
	}
	b := (j0/nr)*s.k*nr + k0*nr
	return s.buf[b : b+kc*nr]
}
